"""Polling gateway jobs: ask how a job is doing and act on the answer.

The sweep claims due jobs in batches and calls `fetch_poll` in its threads (HTTP
only, no database); `apply_poll_outcome` then moves the job on: running, failed,
cancelled, timed out, or collected (downloaded, stored, succeeded). A job that
failed by timing out is still checked for a late success for a day.
"""

from __future__ import annotations

import logging
import random
import tempfile
from pathlib import Path
from typing import Any

from django.db.models import F
from django.utils import timezone

from studio.jobs import leases
from studio.jobs.results import ResultError, store_result
from studio.jobs.states import fail, record_event, transition
from studio.models import FailReason, Job, Status
from studio.providers.base import PollResult, Provider, ProviderError
from studio.storage import STORAGE_ERRORS, describe

log = logging.getLogger(__name__)


def fetch_poll(provider: Provider, upstream_id: str) -> PollResult | ProviderError:
    """One status request; no database work, so it can run in any thread."""
    try:
        return provider.poll(upstream_id)
    except ProviderError as exc:
        return exc
    except Exception:
        log.exception("unexpected error polling %s", upstream_id)
        return ProviderError("internal error while polling", permanent=False)


def apply_poll_outcome(job: Job, provider: Provider, outcome: PollResult | ProviderError) -> None:
    """Act on a claimed job's poll answer: the state machine's side of polling."""
    late = job.status == Status.FAILED
    if isinstance(outcome, ProviderError):
        _poll_error(job, provider, outcome, late=late)
    elif late:
        _late_result(job, provider, outcome)
    else:
        _apply_poll_result(job, provider, outcome)


def is_quiet(job: Job, result: PollResult | ProviderError) -> bool:
    """True when an answer changes nothing but the job's progress and next poll."""
    if not isinstance(result, PollResult) or _past_deadline(job):
        return False
    if job.status == Status.QUEUED:
        return result.state in ("queued", "unknown")
    if job.status == Status.RUNNING:
        return result.state in ("queued", "running", "unknown")
    return False


def quiet_update(job: Job, provider: Provider, result: PollResult) -> None:
    """Set a quiet answer's fields on `job` in memory (saved in bulk by the sweep)."""
    job.upstream_status = result.upstream_status[:60]
    if result.progress is not None:
        job.progress = max(0, min(100, int(result.progress)))
    job.poll_attempts = 0
    job.next_poll_at = leases.later(next_poll_delay(provider, job))
    if result.state == "unknown":
        log.warning("job %s: unknown upstream status %r", job.pk, result.upstream_status)


def next_poll_delay(provider: Provider, job: Job) -> float:
    """Seconds to the next look at a job that is still working upstream.

    The provider's schedule (docs: "5 s, backoff x1.5 to 20 s"): polls every
    `poll_interval` at first, each interval `backoff` times the one before, up to
    `max_poll_interval`. Intervals growing by a factor b from p add up so that
    the interval due at a job's age t is p + (b - 1) * t, which needs no count
    of earlier polls. A long job then costs a quarter of the polls (ten thousand
    jobs in flight are 500 polls a second, not 2,000), and its finish is
    noticed at most one capped interval late. Jitter only makes a poll earlier.
    """
    age = 0.0
    if job.submitted_at is not None:
        age = max(0.0, (timezone.now() - job.submitted_at).total_seconds())
    interval = min(
        provider.max_poll_interval,
        provider.poll_interval + (provider.backoff - 1) * age,
    )
    return max(provider.poll_interval, interval) * random.uniform(0.85, 1.0)


def _poll_error(job: Job, provider: Provider, exc: ProviderError, *, late: bool) -> None:
    Job.objects.filter(pk=job.pk).update(poll_attempts=F("poll_attempts") + 1)
    job.refresh_from_db()
    if late:
        _schedule_late(job)
        return
    if exc.permanent:
        fail(
            job,
            f"Polling failed: {exc.message}",
            error=exc.message,
            fail_reason=exc.reason or FailReason.UPSTREAM_ERROR,
        )
        return
    if _past_deadline(job):
        _time_out(job, provider)
        return
    delay = leases.backoff(
        job.poll_attempts,
        base=provider.poll_interval,
        cap=provider.max_poll_interval,
        retry_after=exc.retry_after,
    )
    Job.objects.filter(pk=job.pk, status=job.status).update(next_poll_at=leases.later(delay))
    if job.poll_attempts in (1, 5) or job.poll_attempts % 20 == 0:
        record_event(job, f"Poll failed ({exc.message}); retrying in {delay:.0f} s")


def _past_deadline(job: Job) -> bool:
    return job.deadline_at is not None and timezone.now() >= job.deadline_at


def _time_out(job: Job, provider: Provider) -> None:
    fail(
        job,
        f"No result from {provider.label} before the deadline; "
        "a late success within 24 h will still be collected",
        error=f"{provider.label} did not finish in time.",
        fail_reason=FailReason.TIMEOUT,
        next_poll_at=leases.later(leases.LATE_POLL_INTERVAL),
    )


def _apply_poll_result(job: Job, provider: Provider, result: PollResult) -> None:
    fields: dict[str, Any] = {
        "upstream_status": result.upstream_status[:60],
        "raw_result": result.raw,
        "poll_attempts": 0,
    }
    if result.progress is not None:
        fields["progress"] = max(0, min(100, int(result.progress)))
    if result.state == "succeeded":
        # The count goes on: it spaces out retried downloads and stores of this result.
        fields.pop("poll_attempts")
        Job.objects.filter(pk=job.pk).update(**fields)
        job.refresh_from_db()
        collect(job, provider, result)
        return
    if result.state == "failed":
        fail(
            job,
            f"{provider.label} reported failure: {result.error_message or result.upstream_status}",
            error=result.error_message or "The provider reported a failure.",
            fail_reason=result.fail_reason or FailReason.UPSTREAM_ERROR,
            **fields,
        )
        return
    if result.state == "cancelled":
        transition(
            job,
            Status.CANCELLED,
            f"Cancelled at {provider.label}",
            fail_reason=FailReason.CANCELLED_UPSTREAM,
            **fields,
        )
        return
    if _past_deadline(job):
        Job.objects.filter(pk=job.pk).update(**fields)
        job.refresh_from_db()
        _time_out(job, provider)
        return
    fields["next_poll_at"] = leases.later(next_poll_delay(provider, job))
    if result.state == "running" and job.status == Status.QUEUED:
        transition(job, Status.RUNNING, f"Running at {provider.label}", **fields)
        return
    if result.state == "unknown":
        log.warning("job %s: unknown upstream status %r", job.pk, result.upstream_status)
    Job.objects.filter(pk=job.pk, status=job.status).update(**fields)


def collect(job: Job, provider: Provider, result: PollResult) -> None:
    """Download the finished video into our storage and mark the job succeeded."""
    # Downloads can take a while: hold the job for longer than a poll, if it is still ours.
    held = Job.objects.filter(pk=job.pk, next_poll_at=job.next_poll_at).update(
        next_poll_at=leases.token(leases.download_lease())
    )
    if held != 1:
        return  # another worker took the job meanwhile
    with tempfile.TemporaryDirectory(prefix="studio-dl-") as tmp:
        dest = Path(tmp) / "result.bin"
        try:
            content_type = provider.download(job.upstream_id, result, dest)
        except ProviderError as exc:
            _download_failed(job, provider, exc)
            return
        try:
            store_result(job, dest, content_type=content_type, media_id=result.media_id)
        except ResultError as exc:
            fail(job, str(exc), error=str(exc), fail_reason=FailReason.NO_OUTPUT)
        except STORAGE_ERRORS as exc:
            _store_failed(job, provider, exc)


def _store_failed(job: Job, provider: Provider, exc: Exception) -> None:
    """Our media storage failed while storing a finished result: keep the job, try again later.

    The result stays at the provider and the job stays where it was (running, or
    failed by timeout and still checked for a late success), so a later pass
    downloads and stores it again; nothing is sent upstream a second time. Until
    the deadline the store is retried with backoff; after it, the job fails as
    timed out and the late check keeps collecting it for a day.
    """
    reason = describe(exc)
    log.warning("job %s: storing the result failed: %s", job.pk, reason)
    Job.objects.filter(pk=job.pk).update(poll_attempts=F("poll_attempts") + 1)
    job.refresh_from_db()
    attempts = job.poll_attempts
    if job.status == Status.FAILED:
        record_event(job, f"Late result could not be stored ({reason}); checking again later")
        _schedule_late(job)
        return
    if _past_deadline(job):
        fail(
            job,
            f"The result could not be stored before the deadline ({reason}); it stays at "
            f"{provider.label} and is collected if storage answers within 24 h",
            error="Storage was unavailable when the result arrived; Studio keeps trying.",
            fail_reason=FailReason.TIMEOUT,
            next_poll_at=leases.later(leases.LATE_POLL_INTERVAL),
        )
        return
    delay = leases.backoff(attempts, base=5, cap=60)
    Job.objects.filter(pk=job.pk, status=job.status).update(next_poll_at=leases.later(delay))
    if attempts <= 3 or attempts % 10 == 0:
        record_event(
            job,
            f"Storing the result failed (storage unavailable: {reason}); the result stays at "
            f"{provider.label}, trying the store again in {delay:.0f} s (attempt {attempts})",
        )


def _download_failed(job: Job, provider: Provider, exc: ProviderError) -> None:
    if exc.permanent or _past_deadline(job):
        reason = exc.reason if exc.reason in FailReason.values else FailReason.DOWNLOAD
        if job.status == Status.FAILED:
            _schedule_late(job)
            return
        fail(
            job,
            f"The result could not be downloaded: {exc.message}",
            error=f"The result could not be downloaded: {exc.message}",
            fail_reason=reason,
        )
        return
    Job.objects.filter(pk=job.pk).update(
        poll_attempts=F("poll_attempts") + 1,
        next_poll_at=leases.later(
            leases.backoff(job.poll_attempts + 1, base=5, cap=60, retry_after=exc.retry_after)
        ),
    )
    record_event(job, f"Download failed ({exc.message}); trying again")


def _late_result(job: Job, provider: Provider, result: PollResult) -> None:
    if result.state == "succeeded":
        collect(job, provider, result)
        return
    if result.state in ("failed", "cancelled"):
        Job.objects.filter(pk=job.pk).update(
            next_poll_at=None, upstream_status=result.upstream_status[:60]
        )
        record_event(job, f"Late check: {provider.label} reports {result.upstream_status}")
        return
    _schedule_late(job)


def _schedule_late(job: Job) -> None:
    finished = job.finished_at or timezone.now()
    if timezone.now() - finished > leases.LATE_RECONCILE_WINDOW:
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
        return
    Job.objects.filter(pk=job.pk, status=Status.FAILED).update(
        next_poll_at=leases.later(leases.LATE_POLL_INTERVAL)
    )
