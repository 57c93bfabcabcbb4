"""Create and rename a project."""

from __future__ import annotations

from django import forms

from studio.models import Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ("name",)
        widgets = {"name": forms.TextInput(attrs={"placeholder": "Spring campaign"})}
        error_messages = {"name": {"required": "Give the project a name."}}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the project a name.")
        return name
