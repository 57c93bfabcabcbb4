"""The generate form on the project page, and what the enabled providers can generate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from studio.forms.fields import choice_field

GENERATION_MODES = ("text2video", "img2video", "ingredients2video")
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


def capabilities() -> dict[str, Any]:
    """What the enabled providers can generate, for the form and its script.

    Only models with a generation mode are listed; edits (upscale, GIF,
    removal) start from a video's page.
    """
    from studio.models import Mode
    from studio.providers import registry

    providers: list[dict[str, Any]] = []
    for provider in registry.enabled_providers():
        models = []
        for spec in provider.models():
            modes = [m for m in GENERATION_MODES if m in spec.modes]
            if not modes:
                continue
            models.append(
                {
                    "name": spec.name,
                    "label": spec.label,
                    "modes": modes,
                    "aspect_ratios": list(spec.aspect_ratios),
                    "durations": list(spec.durations),
                    "images": {m: list(spec.images_for(m)) for m in modes},
                    "cost": registry.cost(provider.name, spec.name),
                    "note": spec.note,
                }
            )
        if models:
            providers.append(
                {
                    "name": provider.name,
                    "label": provider.label,
                    "remote": provider.remote,
                    "models": models,
                }
            )
    offered = {m for p in providers for model in p["models"] for m in model["modes"]}
    return {
        "providers": providers,
        "modes": [{"value": m, "label": Mode(m).label} for m in GENERATION_MODES if m in offered],
        "default_provider": registry.default_provider(),
    }


class ReferenceSlotField(forms.UUIDField):
    """One image slot: the public id of an image in this team's library."""

    def __init__(self, *, team_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.team_id = team_id

    def clean(self, value: Any) -> Any:
        from studio.models import ReferenceImage

        public_id = super().clean(value)
        if public_id is None:
            return None
        image = ReferenceImage.objects.filter(team_id=self.team_id, public_id=public_id).first()
        if image is None:
            raise ValidationError("That image is not in this team's library.", code="foreign_image")
        return image


class GenerateForm(forms.Form):
    """Everything a generation needs; every value is checked against the registry again."""

    mode = forms.ChoiceField(
        label="Mode",
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose one of the listed modes."},
    )
    provider = forms.ChoiceField(
        label="Provider",
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
        widget=forms.RadioSelect,
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
        import uuid

        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.project = project
        self.caps = caps if caps is not None else capabilities()
        models = [m for p in self.caps["providers"] for m in p["models"]]
        choice_field(self, "mode").choices = [(m["value"], m["label"]) for m in self.caps["modes"]]
        choice_field(self, "provider").choices = [
            (p["name"], p["label"]) for p in self.caps["providers"]
        ]
        choice_field(self, "model").choices = [
            (p["label"], [(m["name"], m["label"]) for m in p["models"]])
            for p in self.caps["providers"]
        ]
        ratios = sorted({r for m in models for r in m["aspect_ratios"]}, key=_ratio_order)
        choice_field(self, "aspect_ratio").choices = [(r, ASPECT_LABELS.get(r, r)) for r in ratios]
        durations = sorted({d for m in models for d in m["durations"]})
        choice_field(self, "duration_seconds").choices = [
            ("", "Model default"),
            *((str(d), f"{d} seconds") for d in durations),
        ]
        for name in IMAGE_SLOTS:
            self.fields[name] = ReferenceSlotField(team_id=project.team_id, label=SLOT_LABELS[name])
        self._set_default_initial()

    def _set_default_initial(self) -> None:
        initial = self.initial
        if self.caps["modes"]:
            initial.setdefault("mode", self.caps["modes"][0]["value"])
        providers = {p["name"]: p for p in self.caps["providers"]}
        provider = initial.get("provider")
        if provider not in providers:
            default = self.caps["default_provider"]
            provider = default if default in providers else next(iter(providers), None)
            initial["provider"] = provider
        if provider is None:
            return
        models = [m for m in providers[provider]["models"] if initial["mode"] in m["modes"]]
        models = models or providers[provider]["models"]
        if initial.get("model") not in {m["name"] for m in models}:
            initial["model"] = models[0]["name"]
        spec = next(m for m in providers[provider]["models"] if m["name"] == initial["model"])
        if spec["aspect_ratios"]:
            initial.setdefault("aspect_ratio", spec["aspect_ratios"][0])
        if spec["durations"] and "duration_seconds" not in initial:
            initial["duration_seconds"] = max(spec["durations"])

    def selected_spec(self) -> dict[str, Any] | None:
        """The capabilities of the model the form shows as chosen."""
        provider = self["provider"].value()
        model = self["model"].value()
        for p in self.caps["providers"]:
            if p["name"] == provider:
                for m in p["models"]:
                    if m["name"] == model:
                        return m
        return None

    def clean_prompt(self) -> str:
        prompt: str = self.cleaned_data["prompt"].strip()
        if not prompt:
            raise ValidationError("Describe the video you want.")
        return prompt

    def clean_recalled_prompt(self) -> Any:
        from studio.models import Prompt

        public_id = self.cleaned_data.get("recalled_prompt")
        if public_id is None:
            return None
        # A forged or stale id from elsewhere simply starts a new prompt line.
        return Prompt.objects.filter(project=self.project, public_id=public_id).first()

    def clean(self) -> dict[str, Any]:
        from studio.services.jobs import validate_job_request

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
