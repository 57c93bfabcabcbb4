"""Forms of the scene builder: every change to a scene comes through one of these.

The trim form checks the order of the points; whether they lie inside the
clip is the service's rule (`services.scenes.check_trim`), which knows the
video's length.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from studio.services.scenes import MAX_CROSSFADE


def _new_key() -> Any:
    return uuid.uuid4()


class SceneForm(forms.Form):
    name = forms.CharField(
        label="Scene name",
        max_length=120,
        error_messages={"required": "Give the scene a name."},
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the scene a name.")
        return name


class AddShotForm(forms.Form):
    video = forms.UUIDField(
        label="Video", error_messages={"invalid": "Choose one of this project's videos."}
    )


class AddToSceneForm(forms.Form):
    """The video page's "Add to scene": empty means a new scene."""

    scene = forms.UUIDField(
        required=False, error_messages={"invalid": "Choose one of this project's scenes."}
    )


class MoveShotForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Earlier"), ("down", "Later")])

    @property
    def step(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1


class ReorderForm(forms.Form):
    """The order after a drag and drop: every shot's id, comma-separated."""

    order = forms.CharField(max_length=50 * 40)

    def clean_order(self) -> list[uuid.UUID]:
        try:
            ids = [uuid.UUID(part) for part in self.cleaned_data["order"].split(",") if part]
        except ValueError:
            raise ValidationError("That order names an unknown shot.") from None
        if len(set(ids)) != len(ids):
            raise ValidationError("That order names a shot twice.")
        return ids


class TrimForm(forms.Form):
    in_seconds = forms.FloatField(label="In (s)", min_value=0)
    out_seconds = forms.FloatField(label="Out (s)", min_value=0)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("in_seconds"), data.get("out_seconds")
        if start is not None and end is not None and end <= start:
            raise ValidationError("The out point must come after the in point.")
        return data


class CrossfadeForm(forms.Form):
    crossfade_seconds = forms.FloatField(
        label="Crossfade between shots (s)",
        min_value=0,
        max_value=MAX_CROSSFADE,
        error_messages={
            "min_value": f"Crossfades last 0 to {MAX_CROSSFADE:g} seconds.",
            "max_value": f"Crossfades last 0 to {MAX_CROSSFADE:g} seconds.",
        },
    )


class JumpForm(forms.Form):
    prompt = forms.CharField(
        label="What happens next",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Describe the next shot."},
    )
    idempotency_key = forms.UUIDField(required=False, widget=forms.HiddenInput, initial=_new_key)


class ExportForm(forms.Form):
    idempotency_key = forms.UUIDField(required=False, widget=forms.HiddenInput, initial=_new_key)
