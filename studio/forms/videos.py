"""Forms on a video's page and buttons that make a job from a video."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError


class FrameForm(forms.Form):
    """Take one frame of a video into the library."""

    at = forms.FloatField(
        label="Time (seconds)",
        min_value=0,
        required=False,
        help_text="Leave empty for the last frame.",
    )
    then = forms.ChoiceField(
        choices=[("library", "Open the library"), ("start", "Start a follow-up shot")],
        initial="library",
        required=False,
    )


class ReportForm(forms.Form):
    reason = forms.CharField(
        label="What is wrong with this video?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Tell the moderators what is wrong."},
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Tell the moderators what is wrong.")
        return reason


def _new_key() -> Any:
    return uuid.uuid4()


class ActionForm(forms.Form):
    """A button that makes a job: the key makes a double click harmless."""

    idempotency_key = forms.UUIDField(required=False, widget=forms.HiddenInput, initial=_new_key)


class UpscaleForm(ActionForm):
    target = forms.ChoiceField(
        choices=[("1080p", "1080p"), ("4k", "4K")],
        error_messages={"invalid_choice": "Choose 1080p or 4K."},
    )


class GifForm(ActionForm):
    fps = forms.TypedChoiceField(
        label="Frames per second",
        coerce=int,
        choices=[(8, "8 fps"), (12, "12 fps"), (15, "15 fps"), (24, "24 fps")],
        initial=12,
    )
    width = forms.TypedChoiceField(
        label="Width",
        coerce=int,
        choices=[(320, "320 px"), (480, "480 px"), (640, "640 px"), (960, "960 px")],
        initial=480,
    )


class FavouriteForm(forms.Form):
    on = forms.BooleanField(required=False)
    next = forms.CharField(required=False, max_length=2000)
