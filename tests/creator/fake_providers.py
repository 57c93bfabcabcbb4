"""Providers with fixed capabilities, so the creator UI's tests do not depend on
what the real gateways or the engine can do this week."""

from __future__ import annotations

from studio.providers.base import ModelSpec, Provider


class FakeLocalProvider(Provider):
    name = "local"
    label = "Local engine"
    remote = False
    takes_seed = True

    def is_configured(self) -> bool:
        return True

    def models(self) -> tuple[ModelSpec, ...]:
        return (
            ModelSpec(
                name="draft",
                label="Draft",
                modes=frozenset(
                    {"text2video", "img2video", "ingredients2video", "upscale", "gif", "removal"}
                ),
                durations=(4, 6, 8),
                image_counts={"img2video": (1, 2), "ingredients2video": (1, 3)},
                cost=0,
            ),
        )


class FakeGatewayProvider(Provider):
    name = "gateway"
    label = "Gateway"
    remote = True
    can_cancel = True

    def is_configured(self) -> bool:
        return True

    def models(self) -> tuple[ModelSpec, ...]:
        return (
            ModelSpec(
                name="veo-fast",
                label="Veo Fast",
                modes=frozenset({"text2video", "img2video"}),
                image_counts={"img2video": (1, 1)},
                cost=40,
                note="One start frame, no end frame.",
            ),
            ModelSpec(
                name="veo-ingredients",
                label="Veo Ingredients",
                modes=frozenset({"ingredients2video"}),
                image_counts={"ingredients2video": (1, 3)},
                aspect_ratios=("16:9",),
                cost=45,
            ),
        )

    def cancel(self, upstream_id: str) -> None:
        pass


class FakeOfflineProvider(Provider):
    name = "offline"
    label = "Switched off"

    def is_configured(self) -> bool:
        return False

    def models(self) -> tuple[ModelSpec, ...]:
        return (ModelSpec(name="x", label="X", modes=frozenset({"text2video"}), cost=1),)


FAKE_PROVIDERS = {
    "local": f"{__name__}.FakeLocalProvider",
    "gateway": f"{__name__}.FakeGatewayProvider",
    "offline": f"{__name__}.FakeOfflineProvider",
}
