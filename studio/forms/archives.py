"""The project import form: one archive file; the archive service judges its content."""

from __future__ import annotations

from django import forms


class ProjectImportForm(forms.Form):
    archive = forms.FileField(
        label="Project archive",
        help_text="A .zip exported from a Studio project.",
        error_messages={"required": "Choose a project archive (.zip) to import."},
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
