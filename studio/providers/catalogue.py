"""What the enabled providers can generate, as the generate form and its script read it.

Each provider declares its models (`Provider.models()`, `ModelSpec`); this module
only gathers the enabled ones into one plain structure. Edits (upscale, GIF,
removal) are not listed: they start from a video's page.
"""

from __future__ import annotations

from typing import Any

from studio.models import Mode
from studio.providers import registry

# The order the form offers them in.
GENERATION_MODES = ("text2video", "img2video", "ingredients2video")


def capabilities() -> dict[str, Any]:
    """Providers with their generation models, the modes on offer and the default provider."""
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
                    "takes_seed": provider.takes_seed,
                    "models": models,
                }
            )
    offered = {m for p in providers for model in p["models"] for m in model["modes"]}
    return {
        "providers": providers,
        "modes": [{"value": m, "label": Mode(m).label} for m in GENERATION_MODES if m in offered],
        "default_provider": registry.default_provider(),
    }
