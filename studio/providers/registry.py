"""The registry: which providers exist, which are enabled, what they can do.

Adding a provider is one line in `PROVIDERS` (docs/providers.md). It is the
single source of truth for form validation and for what the UI offers
(`studio.providers.catalogue` gathers it for the generate form). Costs come
from each `ModelSpec` and can be overridden per `provider:model` with
`STUDIO_COSTS` (for example `mountsea:veo31_quality=120`).
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from studio.providers.base import ModelSpec, Provider

# name -> dotted path of the class; imported lazily so the web process does not
# load the video engine until something needs it.
PROVIDERS: dict[str, str] = {
    "local": "studio.providers.local.LocalProvider",
    "mountsea": "studio.providers.mountsea.MountseaProvider",
    "openai": "studio.providers.openai_videos.OpenAIVideosProvider",
}


@cache
def provider_class(name: str) -> type[Provider]:
    try:
        dotted = PROVIDERS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}") from None
    module_name, _, class_name = dotted.rpartition(".")
    cls: type[Provider] = getattr(import_module(module_name), class_name)
    return cls


_instances: dict[str, Provider] = {}
_instances_lock = threading.Lock()


def get_provider(name: str) -> Provider:
    """The process's instance of a provider: one pooled HTTP client each, so a
    worker polling hundreds of jobs reuses its connections."""
    with _instances_lock:
        provider = _instances.get(name)
        if provider is None:
            provider = _instances[name] = provider_class(name)()
        return provider


def reset_providers(**kwargs: object) -> None:
    """Forget the instances (their settings changed); they close their clients."""
    with _instances_lock:
        old = list(_instances.values())
        _instances.clear()
    for provider in old:
        provider.close()


setting_changed.connect(reset_providers)


def enabled_providers() -> list[Provider]:
    """Providers with their configuration present, local engine first."""
    found = []
    for name in PROVIDERS:
        provider = get_provider(name)
        if provider.is_configured():
            found.append(provider)
    return found


def is_enabled(name: str) -> bool:
    return name in PROVIDERS and get_provider(name).is_configured()


def model_spec(provider: str, model: str) -> ModelSpec | None:
    if provider not in PROVIDERS:
        return None
    for spec in get_provider(provider).models():
        if spec.name == model:
            return spec
    return None


def _cost_overrides() -> dict[tuple[str, str], int]:
    overrides: dict[tuple[str, str], int] = {}
    raw = settings.STUDIO_COSTS
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, value = item.partition("=")
        provider, colon, model = key.strip().partition(":")
        if not sep or not colon or not value.strip().isdigit():
            raise ImproperlyConfigured(
                f"STUDIO_COSTS entries look like provider:model=credits, not {item!r}"
            )
        overrides[(provider, model)] = int(value)
    return overrides


def cost(provider: str, model: str) -> int:
    """Credits one job on this provider and model costs."""
    overrides = _cost_overrides()
    if (provider, model) in overrides:
        return overrides[(provider, model)]
    spec = model_spec(provider, model)
    return spec.cost if spec else 0


def default_provider() -> str:
    """The first configured gateway, or the local engine when none is."""
    for provider in enabled_providers():
        if provider.remote:
            return provider.name
    return "local"
