"""Creating jobs: validate a request against the capability registry, store it in draft.

Its cost is reserved against the team's budget in the same transaction
(`ledger.reserve`); a job the budget cannot pay for is refused like any other
invalid request. A new job is handed to a submit task once its row is committed
(unless its team limits jobs in flight: then the sweep hands it over in turn);
if that message is lost, the scheduler's sweep finds the draft anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.jobs import dispatch, ledger
from studio.models import (
    InputRole,
    Job,
    JobEvent,
    JobInput,
    Mask,
    Mode,
    Project,
    Prompt,
    ReferenceImage,
    Status,
    Video,
    VideoKind,
)
from studio.providers import registry
from studio.providers.base import MOTION_TYPES, EditSource
from studio.services import audit, moderation

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_PROMPT_CHARS = 4000
GENERATION_MODES = {Mode.TEXT2VIDEO, Mode.IMG2VIDEO, Mode.INGREDIENTS2VIDEO}
EDIT_MODES = {Mode.REMOVAL, Mode.UPSCALE, Mode.GIF, Mode.EXTEND, Mode.RESHOOT, Mode.INSERT}
# Edits whose rules each provider states (`Provider.edit_refusal`).
PROVIDER_EDITS = {Mode.EXTEND, Mode.RESHOOT, Mode.INSERT}
UPSCALE_TARGETS = ("1080p", "4k")


def edit_source(video: Video) -> EditSource:
    """What a provider's edit rules need to know about `video`."""
    job = video.job
    return EditSource(
        made_by=job.provider if job is not None else "",
        extended=job is not None and job.mode == Mode.EXTEND,
        media_id=video.media_id,
        task_id=job.upstream_id if job is not None else "",
    )


def models_for(provider: str, mode: str) -> list[str]:
    """Labels of the provider's models that can do `mode`."""
    return [s.label for s in registry.get_provider(provider).models() if mode in s.modes]


class JobRequestError(Exception):
    """The request for a job is invalid; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


def validate_job_request(
    *,
    provider: str,
    model: str,
    mode: str,
    prompt: str,
    aspect_ratio: str | None,
    duration_seconds: int | None,
    image_count: int,
    source_video: Video | None = None,
) -> dict[str, list[str]]:
    """Check a request against the capability registry; empty when valid."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if mode not in Mode.values:
        add("mode", "Choose one of the listed modes.")
        return errors
    if not registry.is_enabled(provider):
        add("provider", "This provider is not available on this Studio.")
        return errors
    spec = registry.model_spec(provider, model)
    if spec is None:
        add("model", "Choose one of the listed models.")
        return errors
    if mode not in spec.modes:
        if mode == Mode.EXTEND and (able := models_for(provider, mode)):
            add("model", f"Extend needs {' or '.join(able)}, not {spec.label}.")
        else:
            add("model", f"{spec.label} cannot do {Mode(mode).label.lower()}.")
        return errors

    prompt = prompt.strip()
    max_chars = getattr(registry.provider_class(provider), "max_prompt_chars", MAX_PROMPT_CHARS)
    if mode in GENERATION_MODES and not prompt:
        add("prompt", "Describe the video you want.")
    if len(prompt) > max_chars:
        add("prompt", f"Keep the prompt under {max_chars:,} characters (it has {len(prompt):,}).")

    low, high = spec.images_for(mode)
    if image_count < low or image_count > high:
        if high == 0:
            add("images", "This mode takes no images.")
        elif low == high:
            add("images", f"This mode takes exactly {low} image{'s' if low != 1 else ''}.")
        else:
            add("images", f"This mode takes {low} to {high} images.")

    if mode in GENERATION_MODES:
        if aspect_ratio not in spec.aspect_ratios:
            add("aspect_ratio", "Choose one of the listed aspect ratios.")
        if spec.durations and duration_seconds not in spec.durations:
            add("duration_seconds", "Choose one of the listed durations.")
        if not spec.durations and duration_seconds not in (None, 0):
            add("duration_seconds", f"{spec.label} has a fixed length.")
    elif mode != Mode.SCENE_EXPORT:  # an export's inputs are its shots
        if source_video is None:
            add("source_video", "Choose the video to work on.")
        elif mode in (Mode.REMOVAL, Mode.UPSCALE) and source_video.kind != VideoKind.VIDEO:
            add("source_video", "Only videos can be edited this way, not GIFs.")
        elif mode in PROVIDER_EDITS:
            if source_video.kind != VideoKind.VIDEO:
                add("source_video", "Only videos can be edited this way, not GIFs.")
            elif reason := registry.get_provider(provider).edit_refusal(
                mode, edit_source(source_video)
            ):
                add("source_video", reason)
    if mode == Mode.INSERT and not prompt:
        add("prompt", "Say what to insert.")
    return errors


def _existing_for_key(project: Project, key: uuid.UUID | None) -> Job | None:
    if key is None:
        return None
    return Job.objects.filter(idempotency_key=key, team=project.team).first()


def create_job(
    *,
    project: Project,
    user: User,
    provider: str,
    model: str,
    mode: str,
    prompt_text: str = "",
    prompt: Prompt | None = None,
    params: dict[str, Any] | None = None,
    images: Sequence[tuple[ReferenceImage, str]] = (),
    source_video: Video | None = None,
    mask: Mask | None = None,
    idempotency_key: uuid.UUID | None = None,
    rerun_of: Job | None = None,
) -> Job:
    """Validate and store a job in draft, then hand it to the worker after commit.

    The same `idempotency_key` twice in a team gives back the first job: a
    double click or a re-posted form never makes a second one.
    """
    existing = _existing_for_key(project, idempotency_key)
    if existing is not None:
        return existing
    params = dict(params or {})
    team = project.team
    errors = validate_job_request(
        provider=provider,
        model=model,
        mode=mode,
        prompt=prompt_text,
        aspect_ratio=params.get("aspect_ratio"),
        duration_seconds=params.get("duration_seconds"),
        image_count=len(images),
        source_video=source_video,
    )
    if project.archived_at is not None:
        errors.setdefault("__all__", []).append("Restore the project before generating in it.")
    for image, role in images:
        if image.team_id != team.pk:
            errors.setdefault("images", []).append("That image is not in this team's library.")
        if role not in InputRole.values:
            errors.setdefault("images", []).append("Unknown image slot.")
    if source_video is not None and source_video.team_id != team.pk:
        errors.setdefault("source_video", []).append("That video is not in this team.")
    if mask is not None and (
        mask.team_id != team.pk or mask.video_id != getattr(source_video, "pk", None)
    ):
        errors.setdefault("mask", []).append("That mask does not belong to this video.")
    if mode == Mode.REMOVAL and mask is None:
        errors.setdefault("mask", []).append("Paint the object to remove first.")
    if mode == Mode.UPSCALE and params.get("target") not in UPSCALE_TARGETS:
        errors.setdefault("target", []).append("Choose 1080p or 4K.")
    if mode == Mode.RESHOOT and params.get("motion_type") not in MOTION_TYPES:
        errors.setdefault("motion_type", []).append("Choose one of the listed camera moves.")
    if mode == Mode.GIF:
        params["fps"] = int(params.get("fps") or 12)
        params["width"] = int(params.get("width") or 480)
        if not 1 <= params["fps"] <= 30 or not 64 <= params["width"] <= 1280:
            errors.setdefault("__all__", []).append("GIFs take 1-30 fps and 64-1280 px width.")
    for key, refusals in moderation.submit_refusals(
        team, user, prompt_text, source_video=source_video, images=images, rerun_of=rerun_of
    ).items():
        errors.setdefault(key, []).extend(refusals)
    if errors:
        raise JobRequestError(errors)
    if mode in EDIT_MODES:
        params.pop("duration_seconds", None)
    if not registry.provider_class(provider).takes_seed:
        # A seed the provider drops would be shown as if a re-run could reproduce the shot.
        params.pop("seed", None)
    elif mode in GENERATION_MODES and "seed" not in params:
        params["seed"] = uuid.uuid4().int % 2**31

    try:
        with transaction.atomic():
            job = Job.objects.create(
                team=team,
                project=project,
                created_by=user,
                provider=provider,
                model=model,
                mode=mode,
                prompt=prompt,
                prompt_text=prompt_text.strip(),
                params=params,
                source_video=source_video,
                mask=mask,
                cost_credits=registry.cost(provider, model),
                idempotency_key=idempotency_key,
                rerun_of=rerun_of,
                status=Status.DRAFT,
            )
            JobInput.objects.bulk_create(
                JobInput(job=job, image=image, position=i, role=role, sha256=image.sha256)
                for i, (image, role) in enumerate(images)
            )
            JobEvent.objects.create(job=job, to_status=Status.DRAFT, reason="Created")
            audit.record(
                user, "job.create", job, mode=mode, rerun_of=getattr(rerun_of, "public_id", None)
            )
            Project.objects.filter(pk=project.pk).update(updated_at=timezone.now())
            # Refused for credits: the job row goes with the transaction, nothing is sent.
            ledger.reserve(job)
            if ledger.sends_at_once(team.pk):
                transaction.on_commit(lambda: dispatch.enqueue(job, None))
    except ledger.BudgetExceeded as exc:
        raise JobRequestError({"__all__": [str(exc)]}) from exc
    except IntegrityError:
        # The same key raced in from a second request: return the winner.
        existing = _existing_for_key(project, idempotency_key)
        if existing is None:
            raise
        return existing
    return job
