"""Extend, reshoot and insert an object: where each can run for a video, and starting one.

Every enabled provider that declares the edit (`Provider.edit_modes`) offers
each of its models that does it; a route the video cannot take carries the
provider's own reason (`Provider.edit_refusal`), so the page shows it disabled
with that reason instead of hiding it. The job service checks the same rules
again when the job is created (`studio.jobs.create`).

`extend_video` is the one call other pages (the scene builder) make.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from studio.jobs import create as jobs
from studio.models import InputRole, Job, Mode, ReferenceImage, Status, Video, VideoKind
from studio.providers import registry
from studio.services import masks as mask_service
from studio.storage import discard

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EDITS = (Mode.EXTEND, Mode.RESHOOT, Mode.INSERT)


class EditError(ValueError):
    """An edit that cannot start; the message is shown to the creator."""


@dataclass(frozen=True)
class EditRoute:
    """One provider and model an edit can run on, and why not for this video."""

    provider: str
    model: str
    label: str
    cost: int
    remote: bool
    reason: str = ""

    @property
    def value(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def available(self) -> bool:
        return not self.reason


def refusal(video: Video) -> str:
    """Why no edit can start from this video at all, or "" when one can."""
    if video.kind != VideoKind.VIDEO:
        return "GIFs cannot be edited; edit the video the GIF was made from."
    if video.hidden_at is not None:
        return "This video was hidden by a moderator and cannot be edited."
    if video.job is not None and video.job.status != Status.SUCCEEDED:
        return "This video is not finished yet."
    if not video.file:
        return "This video has no file yet."
    return ""


def routes(video: Video, mode: str) -> list[EditRoute]:
    """Every enabled model that does `mode`, gateways first, each with why not for `video`."""
    general = refusal(video)
    source = jobs.edit_source(video)
    found = []
    for provider in registry.enabled_providers():
        if mode not in provider.edit_modes:
            continue
        reason = general or provider.edit_refusal(mode, source)
        for spec in provider.models():
            if mode in spec.modes:
                found.append(
                    EditRoute(
                        provider=provider.name,
                        model=spec.name,
                        label=f"{spec.label} · {provider.label}",
                        cost=registry.cost(provider.name, spec.name),
                        remote=provider.remote,
                        reason=reason,
                    )
                )
    return sorted(found, key=lambda route: not route.remote)


def default_route(video: Video, mode: str) -> EditRoute | None:
    """The video's own provider when it can, else the first open route."""
    open_routes = [route for route in routes(video, mode) if route.available]
    own = video.job.provider if video.job is not None else ""
    for route in open_routes:
        if route.provider == own:
            return route
    return open_routes[0] if open_routes else None


def submit_edit(
    *,
    video: Video,
    user: User,
    mode: str,
    provider: str,
    model: str,
    prompt: str = "",
    params: dict[str, Any] | None = None,
    mask: mask_service.NormalizedMask | None = None,
    image: ReferenceImage | None = None,
    idempotency_key: uuid.UUID | None = None,
) -> Job:
    """Store the mask (if any) and create the edit's job, together or not at all.

    Raises EditError when the video cannot be edited, and the job service's
    JobRequestError when the request breaks a rule; either way nothing is kept.
    """
    if mode not in EDITS:
        raise EditError("Choose extend, reshoot or insert.")
    if idempotency_key is not None:
        existing = Job.objects.filter(idempotency_key=idempotency_key, team=video.team).first()
        if existing is not None:
            return existing
    reason = refusal(video)
    if reason:
        raise EditError(reason)
    stored = None
    try:
        with transaction.atomic():
            if mask is not None:
                stored = mask_service.store(video, mask, user=user, frame_seconds=0)
            return jobs.create_job(
                project=video.project,
                user=user,
                provider=provider,
                model=model,
                mode=mode,
                prompt_text=prompt,
                params=params,
                images=[(image, InputRole.INGREDIENT)] if image is not None else (),
                source_video=video,
                mask=stored,
                idempotency_key=idempotency_key,
            )
    except Exception:
        # The row went with the transaction; its file did not.
        if stored is not None and stored.file.name:
            discard(stored.file.storage, stored.file.name)
        raise


def extend_video(
    video: Video,
    user: User,
    *,
    route: str = "",
    prompt: str = "",
    idempotency_key: uuid.UUID | None = None,
) -> Job:
    """Extend `video` on `route` ("provider:model"), or on its default route.

    The finished job's video is a child of `video` in the lineage.
    """
    if route:
        provider, _, model = route.partition(":")
    else:
        chosen = default_route(video, Mode.EXTEND)
        if chosen is None:
            reasons = {r.reason for r in routes(video, Mode.EXTEND)} - {""}
            raise EditError(" ".join(sorted(reasons)) or "No provider here can extend videos.")
        provider, model = chosen.provider, chosen.model
    return submit_edit(
        video=video,
        user=user,
        mode=Mode.EXTEND,
        provider=provider,
        model=model,
        prompt=prompt,
        idempotency_key=idempotency_key,
    )
