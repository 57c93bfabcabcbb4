"""The gallery's filters."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms

from studio.forms.fields import choice_field
from studio.models import Mode

STATUS_CHOICES = [
    ("", "Finished videos"),
    ("active", "In progress"),
    ("needs_attention", "Needs attention"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("all", "Everything"),
]


class GalleryFilterForm(forms.Form):
    """The gallery's filters, read from the query string; bad values are ignored."""

    q = forms.CharField(label="Search prompts", required=False, max_length=200)
    mode = forms.ChoiceField(label="Mode", required=False)
    model = forms.ChoiceField(label="Model", required=False)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    creator = forms.ChoiceField(label="Creator", required=False)
    project = forms.TypedChoiceField(label="Project", required=False, empty_value=None)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    favourites = forms.BooleanField(label="Favourites only", required=False)
    after = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: Any,
        *,
        models: list[tuple[str, str]],
        creators: list[str],
        projects: list[tuple[str, str]] | None,
    ) -> None:
        super().__init__(data)
        choice_field(self, "mode").choices = [("", "Any mode"), *Mode.choices]
        choice_field(self, "model").choices = [("", "Any model"), *models]
        choice_field(self, "creator").choices = [("", "Anyone"), *((c, c) for c in creators)]
        if projects is None:
            del self.fields["project"]
        else:
            field = self.fields["project"]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = [("", "All projects"), *projects]
            field.coerce = _uuid

    def filters(self) -> dict[str, Any]:
        """The valid filters; an invalid one is dropped rather than failing the page."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if k not in self.errors}

    @property
    def is_filtered(self) -> bool:
        data = self.filters()
        return any(data.get(k) for k in data if k != "after")


def _uuid(value: str) -> Any:
    return UUID(value)
