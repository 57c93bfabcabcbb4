"""The generate form on the project page, and what the enabled providers can generate."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField, BoundWidget
from django.urls import reverse

from studio.forms.fields import choice_field
from studio.jobs.create import validate_job_request
from studio.models import Prompt, ReferenceImage
from studio.presenters import credit_words
from studio.providers.catalogue import capabilities

ASPECT_LABELS = {"16:9": "16:9 landscape", "9:16": "9:16 portrait", "1:1": "1:1 square"}
# The form's image slots: field name -> (mode, role).
IMAGE_SLOTS: dict[str, tuple[str, str]] = {
    "start_image": ("img2video", "start"),
    "end_image": ("img2video", "end"),
    "ingredient_1": ("ingredients2video", "ingredient"),
    "ingredient_2": ("ingredients2video", "ingredient"),
    "ingredient_3": ("ingredients2video", "ingredient"),
}
SLOT_LABELS = {
    "start_image": "Start frame",
    "end_image": "End frame",
    "ingredient_1": "Ingredient 1",
    "ingredient_2": "Ingredient 2",
    "ingredient_3": "Ingredient 3",
}
MODE_HINTS = {
    "text2video": "From words alone",
    "img2video": "Start frame, optional end frame",
    "ingredients2video": "1-3 reference images",
}
# The legend and hint over each mode's image slots.
SLOT_GROUPS = {
    "img2video": ("Frames", ""),
    "ingredients2video": ("Ingredients", "people, objects or styles"),
}
# Changing one of these changes what the rest of the form offers.
RULE_FIELDS = ("mode", "provider", "model")
NO_LENGTH_CHOICE = "Set by the model"
FREE_NOTE = "(free, rendered on this server)"


class ReferenceSlotField(forms.UUIDField):
    """One image slot: the public id of an image in this team's library."""

    def __init__(self, *, team_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.team_id = team_id

    def clean(self, value: Any) -> Any:
        public_id = super().clean(value)
        if public_id is None:
            return None
        image = ReferenceImage.objects.filter(team_id=self.team_id, public_id=public_id).first()
        if image is None:
            raise ValidationError("That image is not in this team's library.", code="foreign_image")
        return image


class OffOptionsMixin:
    """Options listed but not choosable: the creator sees what another choice would offer."""

    off: frozenset[str] = frozenset()

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(*args, **kwargs)  # type: ignore[misc]
        if str(option["value"]) in self.off:
            option["attrs"]["disabled"] = True
        return option


class OffOptionsSelect(OffOptionsMixin, forms.Select):
    pass


class OffOptionsRadioSelect(OffOptionsMixin, forms.RadioSelect):
    pass


@dataclass(frozen=True)
class Selection:
    """What the form shows as chosen: always a combination the registry accepts."""

    mode: str
    provider: dict[str, Any]
    spec: dict[str, Any]
    # The chosen provider's models for this mode, and the providers that have one.
    models: list[dict[str, Any]]
    capable: frozenset[str]
    aspect_ratio: str | None
    duration: int | None

    @property
    def images(self) -> tuple[int, int]:
        low, high = self.spec["images"].get(self.mode, (0, 0))
        return low, high

    @property
    def cost(self) -> int:
        credits: int = self.spec["cost"]
        return credits

    @property
    def free(self) -> bool:
        # Free means nothing is spent anywhere: no credits and no upstream call.
        return self.cost == 0 and not self.provider["remote"]


def select(caps: dict[str, Any], wanted: Mapping[str, Any]) -> Selection | None:
    """The wanted choices where the catalogue allows them, the nearest allowed ones elsewhere.

    A mode no provider offers falls back to the first mode; a provider without
    the mode to the default provider or the first that has it; a model, ratio or
    length the model lacks to its first model, first ratio and longest length.
    """
    modes = [m["value"] for m in caps["modes"]]
    if not modes:
        return None
    mode = str(wanted.get("mode")) if wanted.get("mode") in modes else modes[0]
    capable = [p for p in caps["providers"] if any(mode in m["modes"] for m in p["models"])]
    by_name = {p["name"]: p for p in capable}
    name = wanted.get("provider")
    if name not in by_name:
        default = caps["default_provider"]
        name = default if default in by_name else capable[0]["name"]
    provider = by_name[name]
    models = [m for m in provider["models"] if mode in m["modes"]]
    spec = next((m for m in models if m["name"] == wanted.get("model")), models[0])
    ratios = spec["aspect_ratios"]
    ratio = wanted.get("aspect_ratio")
    if ratio not in ratios:
        ratio = ratios[0] if ratios else None
    durations = spec["durations"]
    try:
        duration: int | None = int(wanted.get("duration_seconds") or 0)
    except (TypeError, ValueError):
        duration = None
    if duration not in durations:
        duration = max(durations) if durations else None
    return Selection(
        mode=mode,
        provider=provider,
        spec=spec,
        models=models,
        capable=frozenset(by_name),
        aspect_ratio=ratio,
        duration=duration,
    )


@dataclass(frozen=True)
class Slot:
    field: BoundField
    required: bool
    # What became of an image dropped or pasted into this slot.
    upload_note: str = ""
    upload_error: str = ""


class GenerateForm(forms.Form):
    """Everything a generation needs; every value is checked against the registry again.

    The form's rules live here and nowhere else: which providers, models,
    ratios, lengths and image slots the chosen mode and model offer, and what
    they cost. When a rule field changes, the page asks the server to render
    the form again (`refreshed`) instead of applying the rules in the browser.
    """

    mode = forms.ChoiceField(
        label="Mode",
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose one of the listed modes."},
    )
    provider = forms.ChoiceField(
        label="Provider",
        widget=OffOptionsSelect,
        error_messages={"invalid_choice": "Choose one of the listed providers."},
    )
    model = forms.ChoiceField(
        label="Model", error_messages={"invalid_choice": "Choose one of the listed models."}
    )
    prompt = forms.CharField(
        label="Prompt",
        widget=forms.Textarea(
            attrs={"rows": 5, "placeholder": "A lighthouse at dusk, waves rolling in, slow dolly"}
        ),
        max_length=32000,
        error_messages={"required": "Describe the video you want."},
    )
    recalled_prompt = forms.UUIDField(required=False, widget=forms.HiddenInput)
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio",
        widget=OffOptionsRadioSelect,
        error_messages={"invalid_choice": "Choose one of the listed aspect ratios."},
    )
    duration_seconds = forms.TypedChoiceField(
        label="Length",
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": "Choose one of the listed lengths."},
    )
    seed = forms.IntegerField(
        label="Seed",
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Optional: the same seed and inputs give a similar result.",
    )
    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form is out of date: submit it again.",
            "invalid": "This form is out of date: submit it again.",
        },
    )

    def __init__(self, project: Any, *args: Any, caps: dict[str, Any] | None = None, **kwargs: Any):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.project = project
        self.caps = caps if caps is not None else capabilities()
        # slot name -> message, set by the view after a drop or paste into a slot.
        self.upload_notes: dict[str, str] = {}
        self.upload_errors: dict[str, str] = {}
        for name in IMAGE_SLOTS:
            self.fields[name] = ReferenceSlotField(team_id=project.team_id, label=SLOT_LABELS[name])
        # What a post may carry: anything some enabled model offers. Whether the
        # combination fits is the job service's check, with its own messages.
        models = [m for p in self.caps["providers"] for m in p["models"]]
        choice_field(self, "mode").choices = [(m["value"], m["label"]) for m in self.caps["modes"]]
        choice_field(self, "provider").choices = [
            (p["name"], p["label"]) for p in self.caps["providers"]
        ]
        choice_field(self, "model").choices = [(m["name"], m["label"]) for m in models]
        ratios = sorted({r for m in models for r in m["aspect_ratios"]}, key=_ratio_order)
        choice_field(self, "aspect_ratio").choices = [(r, ASPECT_LABELS.get(r, r)) for r in ratios]
        durations = sorted({d for m in models for d in m["durations"]})
        choice_field(self, "duration_seconds").choices = [
            ("", NO_LENGTH_CHOICE),
            *((str(d), f"{d} seconds") for d in durations),
        ]
        self.selection = select(self.caps, self.data if self.is_bound else self.initial)
        if self.selection is not None:
            self._show(self.selection)

    @classmethod
    def refreshed(cls, project: Any, data: Mapping[str, Any]) -> GenerateForm:
        """The form again for what the creator has chosen so far: same values, no errors."""
        names = [*cls.base_fields, *IMAGE_SLOTS]
        initial = {name: value for name in names if (value := data.get(name))}
        try:
            initial["idempotency_key"] = uuid.UUID(str(data.get("idempotency_key")))
        except ValueError:
            # A key that was never valid would only fail the submit: start a fresh one.
            initial.pop("idempotency_key", None)
        return cls(project, initial=initial)

    def _show(self, chosen: Selection) -> None:
        """Offer only what the chosen mode and model can do, and say what it costs."""
        if not self.is_bound:
            # An unbound form shows its initial values: make them the allowed ones.
            self.initial.update(
                mode=chosen.mode,
                provider=chosen.provider["name"],
                model=chosen.spec["name"],
                aspect_ratio=chosen.aspect_ratio,
                duration_seconds=chosen.duration,
            )
        if not chosen.provider["takes_seed"]:
            # The provider drops seeds: a posted one is ignored, none is offered.
            del self.fields["seed"]
        provider = self.fields["provider"].widget
        assert isinstance(provider, OffOptionsSelect)
        provider.off = frozenset(p["name"] for p in self.caps["providers"]) - chosen.capable
        self.fields["model"].widget.choices = [(m["name"], m["label"]) for m in chosen.models]
        ratio = self.fields["aspect_ratio"].widget
        assert isinstance(ratio, OffOptionsRadioSelect)
        ratio.off = frozenset(str(v) for v, _ in ratio.choices) - set(chosen.spec["aspect_ratios"])
        duration = self.fields["duration_seconds"].widget
        if chosen.spec["durations"]:
            duration.choices = [(str(d), f"{d} seconds") for d in chosen.spec["durations"]]
        else:
            duration.choices = [("", NO_LENGTH_CHOICE)]
            duration.attrs["disabled"] = True
        refresh = {
            "hx-post": reverse("generate", args=[self.project.public_id]),
            "hx-trigger": "change",
            "hx-vals": json.dumps({"refresh": "1"}),
        }
        for name in RULE_FIELDS:
            self.fields[name].widget.attrs.update(refresh)

    @property
    def mode_choices(self) -> list[tuple[BoundWidget, str]]:
        return [(radio, MODE_HINTS.get(radio.data["value"], "")) for radio in self["mode"]]

    @property
    def image_slots(self) -> list[Slot]:
        """The slots the chosen mode and model take, and any other slot with an error to clear."""
        if self.selection is None:
            return []
        low, high = self.selection.images
        names = [name for name, (mode, _) in IMAGE_SLOTS.items() if mode == self.selection.mode]
        slots = [
            Slot(
                self[name],
                required=i < low,
                upload_note=self.upload_notes.get(name, ""),
                upload_error=self.upload_errors.get(name, ""),
            )
            for i, name in enumerate(names[:high])
        ]
        shown = {slot.field.name for slot in slots}
        stray = [name for name in IMAGE_SLOTS if name not in shown and name in self.errors]
        return slots + [Slot(self[name], required=False) for name in stray]

    @property
    def slot_group(self) -> tuple[str, str]:
        mode = self.selection.mode if self.selection else ""
        return SLOT_GROUPS.get(mode, ("Images", "not used in this mode"))

    @property
    def offers_seed(self) -> bool:
        return "seed" in self.fields

    @property
    def length_note(self) -> str:
        if self.selection and not self.selection.spec["durations"]:
            return "This model sets the length itself."
        return ""

    @property
    def cost_words(self) -> str:
        return credit_words(self.selection.cost) if self.selection else "—"

    @property
    def cost_note(self) -> str:
        return FREE_NOTE if self.selection and self.selection.free else ""

    def clean_prompt(self) -> str:
        prompt: str = self.cleaned_data["prompt"].strip()
        if not prompt:
            raise ValidationError("Describe the video you want.")
        return prompt

    def clean_recalled_prompt(self) -> Any:
        public_id = self.cleaned_data.get("recalled_prompt")
        if public_id is None:
            return None
        # A forged or stale id from elsewhere simply starts a new prompt line.
        return Prompt.objects.filter(project=self.project, public_id=public_id).first()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        mode = data.get("mode")
        images: list[tuple[Any, str]] = []
        for name, (slot_mode, role) in IMAGE_SLOTS.items():
            image = data.get(name)
            if image is None:
                continue
            if slot_mode != mode:
                self.add_error(name, f"{SLOT_LABELS[name]} is not used in this mode: clear it.")
            else:
                images.append((image, role))
        if mode == "img2video" and data.get("end_image") and not data.get("start_image"):
            self.add_error("start_image", "An end frame needs a start frame.")
        data["images"] = images
        if self.errors or not mode:
            return data
        errors = validate_job_request(
            provider=data.get("provider", ""),
            model=data.get("model", ""),
            mode=mode,
            prompt=data.get("prompt", ""),
            aspect_ratio=data.get("aspect_ratio"),
            duration_seconds=data.get("duration_seconds"),
            image_count=len(images),
        )
        self.add_service_errors(errors)
        return data

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the job service's messages next to the fields they are about."""
        mode = self.data.get("mode") if self.is_bound else None
        image_field = "start_image" if mode == "img2video" else "ingredient_1"
        for key, messages in errors.items():
            target: str | None = key
            if key == "images":
                target = image_field if mode in ("img2video", "ingredients2video") else None
            elif key not in self.fields or key == "__all__":
                target = None
            for message in messages:
                self.add_error(target, message)

    def job_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        params: dict[str, Any] = {"aspect_ratio": data["aspect_ratio"]}
        if data.get("duration_seconds"):
            params["duration_seconds"] = data["duration_seconds"]
        if data.get("seed") is not None:
            params["seed"] = data["seed"]
        return params


def _ratio_order(ratio: str) -> tuple[int, str]:
    return (list(ASPECT_LABELS).index(ratio) if ratio in ASPECT_LABELS else 99, ratio)
