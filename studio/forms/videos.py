"""Forms on a video's page and buttons that make a job from a video."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from studio.models import ReferenceImage, Video
from studio.providers.base import MOTION_TYPES
from studio.services import masks as mask_service
from studio.services.masks import MaskError


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


# Extend, reshoot, insert. The route ("provider:model") is checked by the job
# service against the provider's own rules, so a forged one gets the same
# message the page shows next to a disabled option.


class EditForm(ActionForm):
    route = forms.CharField(
        max_length=100, error_messages={"required": "Choose where the edit runs."}
    )

    def clean_route(self) -> tuple[str, str]:
        provider, sep, model = self.cleaned_data["route"].partition(":")
        if not sep or not provider or not model:
            raise ValidationError("Choose where the edit runs.")
        return provider, model


class ExtendForm(EditForm):
    prompt = forms.CharField(
        label="What happens next (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReshootForm(EditForm):
    motion_type = forms.ChoiceField(
        label="Camera move",
        choices=list(MOTION_TYPES.items()),
        error_messages={
            "invalid_choice": "Choose one of the listed camera moves.",
            "required": "Choose one of the listed camera moves.",
        },
    )


INSERT_EMPTY_MASK = (
    "The mask is all black: paint where the object goes in white, "
    "or send no mask to let the model choose the place."
)


class InsertForm(EditForm):
    prompt = forms.CharField(
        label="What to insert",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what to insert."},
    )
    image = forms.ModelChoiceField(
        queryset=ReferenceImage.objects.none(),
        required=False,
        to_field_name="public_id",
        label="Reference image (optional, offline engine)",
        empty_label="None: typeset the prompt",
        error_messages={"invalid_choice": "That image is not in this team's library."},
    )
    # A base64 JPEG from the painter, white where the object goes; optional.
    mask_data = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)
    frame_seconds = forms.FloatField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, video: Video, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.video = video
        field = self.fields["image"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ReferenceImage.objects.filter(team=video.team).order_by("-created_at")
        self.normalized: mask_service.NormalizedMask | None = None

    def clean_mask_data(self) -> str:
        data: str = self.cleaned_data.get("mask_data") or ""
        if not data.strip():
            return ""
        try:
            raw = mask_service.decode_base64(data)
            self.normalized = mask_service.normalize(raw, mask_service.probe(self.video))
        except MaskError as exc:
            if str(exc).startswith("The mask is empty"):
                raise ValidationError(INSERT_EMPTY_MASK) from None
            raise ValidationError(str(exc)) from None
        return data
