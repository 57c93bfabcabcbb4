from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from studio.models import Project, Role, Team


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Team owners can add you by this address.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ("name",)
        error_messages = {"name": {"required": "Give the team a name."}}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the team a name.")
        return name


class AddMemberForm(forms.Form):
    user = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)

    def clean_user(self) -> Any:
        from studio.services.teams import find_user

        user = find_user(self.cleaned_data["user"])
        if user is None:
            raise forms.ValidationError("No active account has that username or email.")
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


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


class SwitchTeamForm(forms.Form):
    team = forms.UUIDField()
