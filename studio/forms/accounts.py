"""Sign-up: the one account form Django does not ship as is."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    # Nobody confirms this address, so nothing is matched against it: team
    # invitations by email are links the owner sends (see services/teams.py).
    # It need not be unique, and sign-up never says whether another account
    # gave the same address.
    email = forms.EmailField(
        required=False, help_text="Optional. Not shown to others and not used to sign in."
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_username(self) -> str:
        username: str = super().clean_username()
        if "@" in username:
            # A username that looks like an address could pass for someone
            # else's address in a team's member list.
            raise forms.ValidationError(
                "A username cannot contain @: choose a name, not an email address."
            )
        return username

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        return email
