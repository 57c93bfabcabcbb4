"""Forms of the review queue, the audit page and the sign-in check for suspended accounts."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

SUSPENDED_ACCOUNT = (
    "This account is suspended by the moderators. Contact the Studio's operators if you "
    "think this is a mistake."
)


class SignInForm(AuthenticationForm):
    """Django's sign-in form that tells a suspended user why, once the password is right.

    The default backend treats an inactive account like a wrong password; the
    reason is shown only to someone who knows the password, so it reveals nothing.
    """

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            username = self.cleaned_data.get("username") or ""
            password = self.cleaned_data.get("password") or ""
            user = (
                get_user_model()
                .objects.filter(**{get_user_model().USERNAME_FIELD: username}, is_active=False)
                .first()
            )
            if user is not None and user.check_password(password):
                raise forms.ValidationError(SUSPENDED_ACCOUNT, code="suspended") from None
            raise


class NoteForm(forms.Form):
    """The optional note staff add to a moderation action."""

    note = forms.CharField(max_length=500, required=False)


class BlocklistRuleForm(forms.Form):
    pattern = forms.CharField(
        max_length=200,
        help_text="A word or phrase (matched as whole words), or a regular expression.",
    )
    is_regex = forms.BooleanField(required=False, label="Regular expression")
    note = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pattern = (data.get("pattern") or "").strip()
        data["pattern"] = pattern
        if pattern and data.get("is_regex"):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                self.add_error("pattern", f"That is not a valid regular expression: {exc}.")
            else:
                if compiled.search(""):
                    self.add_error("pattern", "That pattern matches every prompt.")
        return data


class RuleOffForm(forms.Form):
    rule = forms.IntegerField(min_value=1)


class AuditFilterForm(forms.Form):
    action = forms.CharField(max_length=60, required=False)
    actor = forms.CharField(max_length=150, required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data
