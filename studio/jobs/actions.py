"""What creators may do to a job: cancel, resubmit, mark failed, rerun, retry; and what
the job's card shows about it (queue position, elapsed time, credits)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from studio.jobs import dispatch
from studio.jobs.create import JobRequestError, create_job
from studio.jobs.states import fail, transition
from studio.models import FailReason, Job, Status
from studio.providers import registry

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class JobActionError(Exception):
    """A creator's action is not possible in the job's current state."""


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
    transaction.on_commit(lambda: dispatch.enqueue(job, None))


def mark_failed(job: Job, user: User) -> None:
    if job.status != Status.NEEDS_ATTENTION:
        raise JobActionError("Only a job that needs attention can be marked failed.")
    ok = fail(
        job,
        f"Marked failed by {user.get_username()}",
        error="Marked failed by a team member.",
        fail_reason=FailReason.OPERATOR,
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
        rerun_of=job,
    )


def can_retry(job: Job) -> bool:
    # The provider's safety filter would only refuse it again, and another create costs.
    return job.status in (Status.FAILED, Status.CANCELLED) and (
        job.fail_reason != FailReason.CONTENT_FILTERED
    )


def retry_job(job: Job, user: User, *, idempotency_key: uuid.UUID | None = None) -> Job:
    if job.fail_reason == FailReason.CONTENT_FILTERED:
        raise JobActionError(
            "The provider's safety filter blocked this job; retrying it would be blocked "
            "again. Change the prompt or images and generate anew."
        )
    if not can_retry(job):
        raise JobActionError("Only a failed or cancelled job can be retried.")
    try:
        return rerun_job(job, user, idempotency_key=idempotency_key)
    except JobRequestError as exc:  # out of credits, most likely: the card says why
        raise JobActionError(str(exc)) from exc


def elapsed_seconds(job: Job, now: datetime | None = None) -> float:
    end = job.finished_at or now or timezone.now()
    return max(0.0, (end - job.created_at).total_seconds())
