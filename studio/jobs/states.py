"""The state machine: which transitions exist, and the only functions that change a job's status.

Every step of the engine (submit, poll, render, results, sweep, and the creator's
actions) changes status through `transition` or the `fail` / `needs_attention`
helpers built on it. Each change is a conditional UPDATE on the expected status
plus a `JobEvent`, in one transaction, so two processes can never both win the
same transition and the timeline shows every step. The job's credits are
settled or released in that same transaction (`ledger.on_transition`).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from studio.jobs import ledger
from studio.models import TERMINAL_STATUSES, FailReason, Job, JobEvent, Status

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

# Nobody looks at a job in these states by itself, so it keeps no next poll
# time unless the caller sets one (a timed-out job is still checked for a late result).
UNPOLLED_STATUSES = TERMINAL_STATUSES | {Status.NEEDS_ATTENTION}


class InvalidTransition(Exception):
    pass


def transition(
    job: Job,
    to: str,
    reason: str,
    *,
    expect: str | None = None,
    where: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move `job` from `expect` (default: its current status) to `to`.

    Returns False when another process changed the job first; the caller then
    leaves it alone. `where` adds conditions to the UPDATE (a task's claim token:
    `{"next_poll_at": token}`); `fields` are saved in the same UPDATE.
    """
    source = expect or job.status
    if to not in TRANSITIONS[source]:
        raise InvalidTransition(f"{source} → {to} is not a valid job transition")
    now = timezone.now()
    if to in TERMINAL_STATUSES:
        fields.setdefault("finished_at", now)
    if to in UNPOLLED_STATUSES:
        fields.setdefault("next_poll_at", None)
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=source, **(where or {})).update(
            status=to, updated_at=now, **fields
        )
        if updated != 1:
            return False
        JobEvent.objects.create(job=job, from_status=source, to_status=to, reason=reason[:2000])
        # Credits move with the status, in the same transaction: settle or release.
        ledger.on_transition(job, to, reason)
    job.refresh_from_db()
    return True


def fail(
    job: Job,
    reason: str,
    *,
    error: str,
    fail_reason: str = FailReason.UPSTREAM_ERROR,
    **fields: Any,
) -> bool:
    """Move `job` to failed: `reason` goes on the timeline, `error` on the card."""
    return transition(
        job, Status.FAILED, reason, error_message=error, fail_reason=fail_reason, **fields
    )


def needs_attention(job: Job, reason: str, *, error: str, **fields: Any) -> bool:
    """Move `job` to needs_attention: its outcome is unknown and a person decides."""
    return transition(job, Status.NEEDS_ATTENTION, reason, error_message=error, **fields)


def record_event(job: Job, reason: str) -> None:
    """A timeline note that is not a transition (a retried poll, a late check)."""
    JobEvent.objects.create(
        job=job, from_status=job.status, to_status=job.status, reason=reason[:2000]
    )
