"""Team forms: name a team, invite someone, change a role, switch the current team."""

from __future__ import annotations

from django import forms

from studio.models import Role, Team


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


class InviteForm(forms.Form):
    who = forms.CharField(
        label="Username or email",
        max_length=254,
        help_text="A username gets the invitation on their Teams page; an email address gets a "
        "link for you to send them.",
        error_messages={"required": "Give a username or an email address."},
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)

    def clean_who(self) -> str:
        who: str = self.cleaned_data["who"].strip()
        if "@" in who:
            # Only a well-formed address: the invitation is a link sent to it.
            forms.EmailField().clean(who)
        return who


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SwitchTeamForm(forms.Form):
    team = forms.UUIDField()
