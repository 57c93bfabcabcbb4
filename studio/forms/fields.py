"""Small helpers the form modules share."""

from __future__ import annotations

from django import forms


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """A form's choice field, typed, so its choices can be set per request."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field
