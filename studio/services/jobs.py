"""Jobs: the state machine, creating jobs, and what creators may do to them.

Only this module (and `studio.services.worker`, through `transition`) changes a
job's status. Every change is a conditional UPDATE on the expected status plus
a `JobEvent`, in one transaction, so two processes can never both win the same
transition and the timeline shows every step.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from studio.models import (
    TERMINAL_STATUSES,
    FailReason,
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

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 4000
GENERATION_MODES = {Mode.TEXT2VIDEO, Mode.IMG2VIDEO, Mode.INGREDIENTS2VIDEO}
EDIT_MODES = {Mode.REMOVAL, Mode.UPSCALE, Mode.GIF}
UPSCALE_TARGETS = ("1080p", "4k")

# Which transitions exist. Anything else is a bug and is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTING, Status.CANCELLED, Status.FAILED}),
    Status.SUBMITTING: frozenset(
        {
            Status.QUEUED,
            Status.RUNNING,
            Status.DRAFT,  # provably not sent: try again later
            Status.NEEDS_ATTENTION,
            Status.FAILED,
        }
    ),
    Status.QUEUED: frozenset({Status.RUNNING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
    Status.NEEDS_ATTENTION: frozenset({Status.DRAFT, Status.FAILED}),
    # A job failed for timing out may still be reconciled with a late success.
    Status.FAILED: frozenset({Status.SUCCEEDED}),
    Status.SUCCEEDED: frozenset(),
    Status.CANCELLED: frozenset(),
}


class InvalidTransition(Exception):
    pass


class JobRequestError(Exception):
    """The request for a job is invalid; `errors` maps form fields to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


class JobActionError(Exception):
    """A creator's action is not possible in the job's current state."""


def transition(job: Job, to: str, reason: str, *, expect: str | None = None, **fields: Any) -> bool:
    """Move `job` from `expect` (default: its current status) to `to`.

    Returns False when another process changed the job first; the caller then
    leaves it alone. `fields` are saved in the same UPDATE.
    """
    source = expect or job.status
    if to not in TRANSITIONS[source]:
        raise InvalidTransition(f"{source} → {to} is not a valid job transition")
    now = timezone.now()
    if to in TERMINAL_STATUSES and "finished_at" not in fields:
        fields["finished_at"] = now
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=source).update(
            status=to, updated_at=now, **fields
        )
        if updated != 1:
            return False
        JobEvent.objects.create(job=job, from_status=source, to_status=to, reason=reason[:2000])
    job.refresh_from_db()
    return True


def record_event(job: Job, reason: str) -> None:
    """A timeline note that is not a transition (a retried poll, a late check)."""
    JobEvent.objects.create(
        job=job, from_status=job.status, to_status=job.status, reason=reason[:2000]
    )


# Creating jobs


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
    else:
        if source_video is None:
            add("source_video", "Choose the video to work on.")
        elif mode in (Mode.REMOVAL, Mode.UPSCALE) and source_video.kind != VideoKind.VIDEO:
            add("source_video", "Only videos can be edited this way, not GIFs.")
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
    if mode == Mode.GIF:
        params["fps"] = int(params.get("fps") or 12)
        params["width"] = int(params.get("width") or 480)
        if not 1 <= params["fps"] <= 30 or not 64 <= params["width"] <= 1280:
            errors.setdefault("__all__", []).append("GIFs take 1-30 fps and 64-1280 px width.")
    if errors:
        raise JobRequestError(errors)
    if mode in EDIT_MODES:
        params.pop("duration_seconds", None)
    if mode in GENERATION_MODES and "seed" not in params:
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
                status=Status.DRAFT,
            )
            JobInput.objects.bulk_create(
                JobInput(job=job, image=image, position=i, role=role, sha256=image.sha256)
                for i, (image, role) in enumerate(images)
            )
            JobEvent.objects.create(job=job, to_status=Status.DRAFT, reason="Created")
            Project.objects.filter(pk=project.pk).update(updated_at=timezone.now())
            transaction.on_commit(lambda: enqueue_job(job.pk))
    except IntegrityError:
        # The same key raced in from a second request: return the winner.
        existing = _existing_for_key(project, idempotency_key)
        if existing is None:
            raise
        return existing
    return job


def run_due_jobs() -> int:
    """One sweep pass, rendering local jobs in this process (tests, scripts)."""
    from studio.services.sweep import run_due_jobs as run

    return run()


def enqueue_job(job_pk: int, *, render: bool = False) -> None:
    """Ask the worker to look at a job now. Losing this message only delays it:
    the sweep finds every due job from the database."""
    from django_q.tasks import async_task

    func = "studio.tasks.render_job" if render else "studio.tasks.process_job"
    try:
        async_task(func, job_pk, task_name=f"job-{job_pk}")
    except Exception:  # the broker may be down; the sweep still finds the job
        log.warning("could not enqueue job %s; the sweep will pick it up", job_pk)


# What creators may do


def can_cancel(job: Job) -> bool:
    if job.status == Status.DRAFT:
        return True
    if job.status in (Status.QUEUED, Status.RUNNING):
        provider = registry.provider_class(job.provider)
        return bool(provider.can_cancel) or not provider.remote
    return False


def cancel_job(job: Job, user: User) -> None:
    if not can_cancel(job):
        raise JobActionError("This job can no longer be cancelled.")
    provider = registry.get_provider(job.provider)
    if job.status != Status.DRAFT and provider.remote and job.upstream_id:
        provider.cancel(job.upstream_id)
    if not transition(job, Status.CANCELLED, f"Cancelled by {user.get_username()}"):
        raise JobActionError("The job changed state meanwhile; look again.")


def resubmit_job(job: Job, user: User) -> None:
    """needs_attention → draft: the creator decided to send it again."""
    if job.status != Status.NEEDS_ATTENTION:
        raise JobActionError("Only a job that needs attention can be resubmitted.")
    ok = transition(
        job,
        Status.DRAFT,
        f"Resubmitted by {user.get_username()} (the earlier attempt's outcome was unknown)",
        next_poll_at=None,
        upstream_id="",
    )
    if not ok:
        raise JobActionError("The job changed state meanwhile; look again.")
    transaction.on_commit(lambda: enqueue_job(job.pk))


def mark_failed(job: Job, user: User) -> None:
    if job.status != Status.NEEDS_ATTENTION:
        raise JobActionError("Only a job that needs attention can be marked failed.")
    ok = transition(
        job,
        Status.FAILED,
        f"Marked failed by {user.get_username()}",
        fail_reason=FailReason.OPERATOR,
        error_message="Marked failed by a team member.",
        next_poll_at=None,
    )
    if not ok:
        raise JobActionError("The job changed state meanwhile; look again.")


def rerun_job(job: Job, user: User, *, idempotency_key: uuid.UUID | None = None) -> Job:
    """A new job with the same inputs (the original stays as it was)."""
    if not job.is_terminal:
        raise JobActionError("Wait for the job to finish before running it again.")
    # The same parameters, seed included, so the same inputs give the same shot.
    params = dict(job.params)
    inputs = [(i.image, i.role) for i in job.inputs.select_related("image")]
    return create_job(
        project=job.project,
        user=user,
        provider=job.provider,
        model=job.model,
        mode=job.mode,
        prompt_text=job.prompt_text,
        prompt=job.prompt,
        params=params,
        images=inputs,
        source_video=job.source_video,
        mask=job.mask,
        idempotency_key=idempotency_key,
    )


def retry_job(job: Job, user: User, *, idempotency_key: uuid.UUID | None = None) -> Job:
    if job.status not in (Status.FAILED, Status.CANCELLED):
        raise JobActionError("Only a failed or cancelled job can be retried.")
    return rerun_job(job, user, idempotency_key=idempotency_key)


def queue_position(job: Job) -> int | None:
    """1-based position among the team's jobs that have not started running."""
    if job.status not in (Status.DRAFT, Status.SUBMITTING, Status.QUEUED):
        return None
    ahead = Job.objects.filter(
        team_id=job.team_id,
        status__in=[Status.DRAFT, Status.SUBMITTING, Status.QUEUED],
    ).filter(Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lt=job.pk))
    return ahead.count() + 1


def elapsed_seconds(job: Job, now: datetime | None = None) -> float:
    end = job.finished_at or now or timezone.now()
    return max(0.0, (end - job.created_at).total_seconds())


def credits_summary(team_id: int) -> dict[str, int]:
    """Credits a team has spent (succeeded jobs) and has riding on jobs that
    reached a provider but have not finished (or whose outcome is unknown)."""
    from django.db.models import Sum

    def total(statuses: list[str]) -> int:
        jobs = Job.objects.filter(team_id=team_id, status__in=statuses)
        return int(jobs.aggregate(total=Sum("cost_credits"))["total"] or 0)

    return {
        "spent": total([Status.SUCCEEDED]),
        "reserved": total(
            [Status.SUBMITTING, Status.QUEUED, Status.RUNNING, Status.NEEDS_ATTENTION]
        ),
    }
