"""Team forms: name a team, add a member, change a role, switch the current team."""

from __future__ import annotations

from typing import Any

from django import forms

from studio.models import Role, Team
from studio.services.teams import find_user


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
        user = find_user(self.cleaned_data["user"])
        if user is None:
            raise forms.ValidationError("No active account has that username or email.")
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SwitchTeamForm(forms.Form):
    team = forms.UUIDField()
