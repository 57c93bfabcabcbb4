"""Submitting: send a draft job to its provider, at most once.

Runs in the submit task (`studio.tasks.submit_job`). The job row was committed in
draft before; the task's claim moves it to submitting, and only the process whose
UPDATE matched goes on. A gateway job then has exactly one create request; an
answer that was lost or unclear sends the job to needs_attention instead of
risking a second create. A local job goes on to render in the same task.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from studio.jobs import leases
from studio.jobs.render import render
from studio.jobs.request import build_request
from studio.jobs.states import fail, needs_attention, transition
from studio.models import FailReason, Job, Status, Team
from studio.providers import registry
from studio.providers.base import (
    Provider,
    ProviderError,
    Submission,
    SubmitNotAccepted,
    SubmitOutcomeUnknown,
    SubmitRequest,
)
from studio.storage import STORAGE_ERRORS, describe

log = logging.getLogger(__name__)


def submit(job: Job, token: datetime | None) -> None:
    """Claim the draft while it still holds `token` (its `next_poll_at` when the task
    was sent) and send it. A repeated or outdated message finds the job moved on."""
    provider = registry.get_provider(job.provider)
    lease = leases.submit_lease() if provider.remote else leases.render_lease()
    claimed = transition(
        job,
        Status.SUBMITTING,
        f"Submitting to {provider.label} (attempt {job.submit_attempts + 1})",
        expect=Status.DRAFT,
        where={"next_poll_at": token},
        submit_attempts=F("submit_attempts") + 1,
        error_message="",
        next_poll_at=leases.later(lease),
    )
    if not claimed:
        return  # another worker claimed it first, or the job moved on
    if Team.objects.filter(pk=job.team_id, suspended_at__isnull=False).exists():
        # Drafts made before a suspension are not sent: nothing leaves, nothing is charged.
        fail(
            job,
            "Not sent: the team was suspended by the moderators",
            error="Not sent: this team is suspended.",
            fail_reason=FailReason.SUSPENDED,
        )
        return
    if not registry.is_enabled(job.provider):
        fail(
            job,
            f"{provider.label} is not configured on this Studio any more",
            error=f"{provider.label} is not configured on this Studio.",
            fail_reason=FailReason.AUTH,
        )
        return
    if not provider.remote:
        transition(
            job,
            Status.RUNNING,
            "Rendering on the local engine",
            next_poll_at=leases.later(leases.render_lease()),
            submitted_at=timezone.now(),
            progress=0,
        )
        render(job)
        return
    send(job, provider)


def send(job: Job, provider: Provider) -> None:
    """The one create request of a claimed gateway job, and what its answer means."""
    with ExitStack() as stack:
        try:
            request = build_request(job, stack)
        except STORAGE_ERRORS as exc:
            # The inputs could not be read from our storage: nothing left this machine.
            not_accepted(job, SubmitNotAccepted(f"the inputs could not be read: {describe(exc)}"))
            return
        submission = _create(job, provider, request)
    if submission is None:
        return
    now = timezone.now()
    ok = transition(
        job,
        Status.QUEUED,
        f"Accepted by {provider.label} as {submission.upstream_id}",
        upstream_id=submission.upstream_id[:200],
        raw_result=submission.raw,
        submitted_at=now,
        next_poll_at=now + timedelta(seconds=provider.first_poll_delay),
        deadline_at=now + timedelta(seconds=provider.deadline),
        poll_attempts=0,
    )
    if not ok:
        log.error("job %s was accepted upstream as %s but changed state", job.pk, submission)


def _create(job: Job, provider: Provider, request: SubmitRequest) -> Submission | None:
    """The create request itself; None when its failure was dealt with here."""
    try:
        return provider.submit(request)
    except SubmitNotAccepted as exc:
        not_accepted(job, exc)
    except SubmitOutcomeUnknown as exc:
        needs_attention(
            job,
            f"The provider may have received this job, but its answer was lost ({exc.message}). "
            "It will not be sent again automatically.",
            error=exc.message,
        )
    except ProviderError as exc:
        if not exc.permanent:
            # A transient error we cannot place: the request may have left.
            needs_attention(
                job, f"Submit failed with an unclear outcome: {exc.message}", error=exc.message
            )
            return None
        fail(
            job,
            f"The provider refused the job: {exc.message}",
            error=exc.message,
            fail_reason=exc.reason or FailReason.UPSTREAM_ERROR,
        )
    except Exception:
        log.exception("unexpected error submitting job %s", job.pk)
        needs_attention(
            job,
            "Studio hit an internal error while submitting; the outcome is unknown.",
            error="Internal error while submitting.",
        )
    return None


def not_accepted(job: Job, exc: SubmitNotAccepted) -> None:
    """Nothing was started upstream: try again later, or give up after the last attempt."""
    attempts = job.submit_attempts
    limit = int(settings.STUDIO_MAX_SUBMIT_ATTEMPTS)
    if attempts >= limit:
        fail(
            job,
            f"Gave up after {attempts} attempts: {exc.message}",
            error=f"The provider did not accept the job: {exc.message}",
            fail_reason=FailReason.QUOTA if exc.status_code == 429 else FailReason.UPSTREAM_ERROR,
        )
        return
    delay = leases.backoff(attempts, base=5.0, cap=120.0, retry_after=exc.retry_after)
    transition(
        job,
        Status.DRAFT,
        f"Not accepted ({exc.message}); nothing was started upstream, retrying in {delay:.0f} s",
        next_poll_at=leases.later(delay),
    )
