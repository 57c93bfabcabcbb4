"""The removal form: a mask (painted, uploaded or reused), the frame, the route, a prompt."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms

from studio.models import Mask, Video
from studio.services import masks as mask_service
from studio.services.masks import Geometry, MaskError, Route


class MaskForm(forms.Form):
    mask_data = forms.CharField(
        required=False,
        widget=forms.HiddenInput,
        # The painter sends a JPEG of up to ~10 MB as base64; the service caps it.
        strip=False,
    )
    mask_file = forms.FileField(
        required=False,
        label="Mask image",
        help_text="Or upload a mask: white where the object is, black elsewhere.",
    )
    reuse_mask = forms.ModelChoiceField(
        queryset=Mask.objects.none(),
        required=False,
        to_field_name="public_id",
        label="Earlier masks",
        widget=forms.RadioSelect,
        empty_label=None,
    )
    frame_seconds = forms.FloatField(
        min_value=0, initial=0, label="Frame", widget=forms.HiddenInput
    )
    provider = forms.ChoiceField(label="Run the removal on", widget=forms.RadioSelect)
    prompt = forms.CharField(
        required=False,
        max_length=2000,
        label="Prompt (optional)",
        help_text="What should fill the gap, for example “empty beach”.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    idempotency_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        video: Video,
        geometry: Geometry,
        routes: list[Route],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.video = video
        self.geometry = geometry
        available = [r for r in routes if r.available]
        provider = cast(forms.ChoiceField, self.fields["provider"])
        provider.choices = [(r.provider, r.label) for r in available]
        default = mask_service.default_route(available)
        if default is not None:
            provider.initial = default.provider
        reuse = cast(forms.ModelChoiceField, self.fields["reuse_mask"])
        reuse.queryset = video.masks.order_by("-created_at")
        self.normalized: mask_service.NormalizedMask | None = None
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())

    def clean_frame_seconds(self) -> float:
        value: float = self.cleaned_data["frame_seconds"]
        # A scrubber at the very end may land a hair past the last frame.
        if value > self.geometry.duration_seconds + self.geometry.frame_seconds:
            raise forms.ValidationError("That frame is past the end of the video.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        data = cleaned.get("mask_data") or ""
        upload = cleaned.get("mask_file")
        reuse = cleaned.get("reuse_mask")
        given = sum(bool(x) for x in (data, upload, reuse))
        if given == 0:
            raise forms.ValidationError(
                "Paint over the object to remove (or upload a mask, or pick an earlier one)."
            )
        if given > 1:
            raise forms.ValidationError("Send one mask: painted, uploaded or an earlier one.")
        if reuse is not None:
            return cleaned
        try:
            if upload is not None:
                if upload.size is None or upload.size > mask_service.MAX_MASK_BYTES:
                    raise MaskError(mask_service.too_big_message())
                raw = upload.read()
            else:
                raw = mask_service.decode_base64(data)
            self.normalized = mask_service.normalize(raw, self.geometry)
        except MaskError as exc:
            self.add_error("mask_file" if upload is not None else None, str(exc))
        return cleaned
