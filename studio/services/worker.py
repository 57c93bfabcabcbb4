"""What the worker does with jobs: submit, poll, collect, render, sweep.

The job row is the retry mechanism, not the broker. Every step claims its job
with a conditional UPDATE and a lease (`next_poll_at` in the future), so a
lost or repeated queue message costs one idempotent look, never a second
submission. A worker that dies leaves a lease that runs out; the sweep then
finds the job: a submit whose outcome is unknown goes to needs_attention, a
poll or a local render is simply done again.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from studio.models import FailReason, Job, Status
from studio.providers import registry
from studio.providers.base import (
    InputImage,
    PollResult,
    Provider,
    ProviderError,
    SourceVideo,
    SubmitNotAccepted,
    SubmitOutcomeUnknown,
    SubmitRequest,
)
from studio.services.jobs import record_event, transition
from studio.services.results import ResultError, local_copy, store_result
from studio.services.signing import signed_reference_url

log = logging.getLogger(__name__)

LATE_RECONCILE_WINDOW = timedelta(hours=24)
LATE_POLL_INTERVAL = 300.0


def _seconds(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _render_lease() -> float:
    return _seconds("STUDIO_RENDER_LEASE", 900)


def _later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def checkpoint(name: str) -> None:
    """A named point in a job's life where the kill tests stop the worker.

    `STUDIO_TEST_PAUSE=after_claim:30` makes the worker sleep 30 s there, so a
    test can SIGKILL it at exactly that step. Unset in normal operation.
    """
    wanted = os.environ.get("STUDIO_TEST_PAUSE", "")
    if not wanted:
        return
    point, _, seconds = wanted.partition(":")
    if point == name:
        log.warning("test pause at %s for %s s (pid %s)", name, seconds, os.getpid())
        time.sleep(float(seconds or 30))


# Building the request


def _build_request(job: Job, stack: ExitStack) -> SubmitRequest:
    images = []
    for item in job.inputs.select_related("image").order_by("position"):
        path = stack.enter_context(local_copy(item.image.file))
        images.append(
            InputImage(
                role=item.role,
                path=path,
                content_type=item.image.content_type,
                url=signed_reference_url(item.image),
            )
        )
    source = None
    if job.source_video is not None:
        video = job.source_video
        source = SourceVideo(
            path=stack.enter_context(local_copy(video.file)),
            width=video.width,
            height=video.height,
            media_id=video.media_id,
        )
    mask_path = stack.enter_context(local_copy(job.mask.file)) if job.mask else None
    params = dict(job.params)
    return SubmitRequest(
        job_id=str(job.public_id),
        mode=job.mode,
        model=job.model,
        prompt=job.prompt_text,
        aspect_ratio=params.get("aspect_ratio", "16:9"),
        duration_seconds=params.get("duration_seconds"),
        seed=params.get("seed"),
        images=tuple(images),
        source_video=source,
        mask_path=mask_path,
        params=params,
    )


# Submitting


def submit(job: Job, *, from_task: bool = False) -> None:
    """Send a draft job to its provider, at most once.

    The job row was committed in draft before this runs. Claiming it moves it
    to submitting; only the process whose UPDATE matched goes on. A draft
    waiting out a retry delay is left alone unless a task was sent for it.
    """
    if not from_task and job.next_poll_at and job.next_poll_at > timezone.now():
        return
    provider = registry.get_provider(job.provider)
    lease = _seconds("STUDIO_SUBMIT_LEASE", 120) if provider.remote else _render_lease()
    claimed = transition(
        job,
        Status.SUBMITTING,
        f"Submitting to {provider.label} (attempt {job.submit_attempts + 1})",
        expect=Status.DRAFT,
        submit_attempts=F("submit_attempts") + 1,
        error_message="",
        next_poll_at=_later(lease),
    )
    if not claimed:
        return  # another worker claimed it first
    checkpoint("after_claim")
    if not registry.is_enabled(job.provider):
        transition(
            job,
            Status.FAILED,
            f"{provider.label} is not configured on this Studio any more",
            fail_reason=FailReason.AUTH,
            error_message=f"{provider.label} is not configured on this Studio.",
            next_poll_at=None,
        )
        return
    if not provider.remote:
        transition(
            job,
            Status.RUNNING,
            "Rendering on the local engine",
            next_poll_at=_later(_render_lease()),
            submitted_at=timezone.now(),
            progress=0,
        )
        from studio.services.rendering import render

        render(job)
        return
    _submit_remote(job, provider)


def _submit_remote(job: Job, provider: Provider) -> None:
    try:
        with ExitStack() as stack:
            request = _build_request(job, stack)
            submission = provider.submit(request)
    except SubmitNotAccepted as exc:
        _submit_not_accepted(job, exc)
        return
    except SubmitOutcomeUnknown as exc:
        transition(
            job,
            Status.NEEDS_ATTENTION,
            f"The provider may have received this job, but its answer was lost ({exc.message}). "
            "It will not be sent again automatically.",
            error_message=exc.message,
            next_poll_at=None,
        )
        return
    except ProviderError as exc:
        if not exc.permanent:
            # A transient error we cannot place: the request may have left.
            transition(
                job,
                Status.NEEDS_ATTENTION,
                f"Submit failed with an unclear outcome: {exc.message}",
                error_message=exc.message,
                next_poll_at=None,
            )
            return
        transition(
            job,
            Status.FAILED,
            f"The provider refused the job: {exc.message}",
            error_message=exc.message,
            fail_reason=exc.reason or FailReason.UPSTREAM_ERROR,
            next_poll_at=None,
        )
        return
    except Exception:
        log.exception("unexpected error submitting job %s", job.pk)
        transition(
            job,
            Status.NEEDS_ATTENTION,
            "Studio hit an internal error while submitting; the outcome is unknown.",
            error_message="Internal error while submitting.",
            next_poll_at=None,
        )
        return
    checkpoint("after_create")
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


def _submit_not_accepted(job: Job, exc: SubmitNotAccepted) -> None:
    attempts = job.submit_attempts
    limit = int(getattr(settings, "STUDIO_MAX_SUBMIT_ATTEMPTS", 5))
    if attempts >= limit:
        transition(
            job,
            Status.FAILED,
            f"Gave up after {attempts} attempts: {exc.message}",
            error_message=f"The provider did not accept the job: {exc.message}",
            fail_reason=FailReason.QUOTA if exc.status_code == 429 else FailReason.UPSTREAM_ERROR,
            next_poll_at=None,
        )
        return
    delay = _backoff(attempts, base=5.0, cap=120.0, retry_after=exc.retry_after)
    transition(
        job,
        Status.DRAFT,
        f"Not accepted ({exc.message}); nothing was started upstream, retrying in {delay:.0f} s",
        next_poll_at=_later(delay),
    )


def _backoff(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter on top of half the step, never below Retry-After."""
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = step / 2 + random.uniform(0, step / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


# Polling


def _claim_poll(job: Job, lease: float) -> bool:
    """Take the job for one poll; False when another worker has it."""
    updated = Job.objects.filter(
        pk=job.pk, status=job.status, next_poll_at=job.next_poll_at
    ).update(next_poll_at=_later(lease))
    return updated == 1


def poll(job: Job) -> None:
    provider = registry.get_provider(job.provider)
    if not provider.remote:
        from studio.services.rendering import claim_stale_render, render

        if job.status == Status.RUNNING and claim_stale_render(job):
            render(job)
        return
    if not _claim_poll(job, _seconds("STUDIO_POLL_LEASE", 60)):
        return
    checkpoint("during_poll")
    apply_poll_outcome(job, provider, fetch_poll(provider, job.upstream_id))


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
    job.next_poll_at = _later(_next_poll(provider))
    if result.state == "unknown":
        log.warning("job %s: unknown upstream status %r", job.pk, result.upstream_status)


def _next_poll(provider: Provider) -> float:
    # Jitter only makes a poll earlier, so completion is noticed within one interval.
    return provider.poll_interval * random.uniform(0.85, 1.0)


def _poll_error(job: Job, provider: Provider, exc: ProviderError, *, late: bool) -> None:
    Job.objects.filter(pk=job.pk).update(poll_attempts=F("poll_attempts") + 1)
    job.refresh_from_db()
    if late:
        _schedule_late(job)
        return
    if exc.permanent:
        transition(
            job,
            Status.FAILED,
            f"Polling failed: {exc.message}",
            error_message=exc.message,
            fail_reason=exc.reason or FailReason.UPSTREAM_ERROR,
            next_poll_at=None,
        )
        return
    if _past_deadline(job):
        _time_out(job, provider)
        return
    delay = _backoff(
        job.poll_attempts,
        base=provider.poll_interval,
        cap=provider.max_poll_interval,
        retry_after=exc.retry_after,
    )
    Job.objects.filter(pk=job.pk, status=job.status).update(next_poll_at=_later(delay))
    if job.poll_attempts in (1, 5) or job.poll_attempts % 20 == 0:
        record_event(job, f"Poll failed ({exc.message}); retrying in {delay:.0f} s")


def _past_deadline(job: Job) -> bool:
    return job.deadline_at is not None and timezone.now() >= job.deadline_at


def _time_out(job: Job, provider: Provider) -> None:
    transition(
        job,
        Status.FAILED,
        f"No result from {provider.label} before the deadline; "
        "a late success within 24 h will still be collected",
        error_message=f"{provider.label} did not finish in time.",
        fail_reason=FailReason.TIMEOUT,
        next_poll_at=_later(LATE_POLL_INTERVAL),
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
        Job.objects.filter(pk=job.pk).update(**fields)
        job.refresh_from_db()
        collect(job, provider, result)
        return
    if result.state == "failed":
        transition(
            job,
            Status.FAILED,
            f"{provider.label} reported failure: {result.error_message or result.upstream_status}",
            error_message=result.error_message or "The provider reported a failure.",
            fail_reason=result.fail_reason or FailReason.UPSTREAM_ERROR,
            next_poll_at=None,
            **fields,
        )
        return
    if result.state == "cancelled":
        transition(
            job,
            Status.CANCELLED,
            f"Cancelled at {provider.label}",
            fail_reason=FailReason.CANCELLED_UPSTREAM,
            next_poll_at=None,
            **fields,
        )
        return
    if _past_deadline(job):
        Job.objects.filter(pk=job.pk).update(**fields)
        job.refresh_from_db()
        _time_out(job, provider)
        return
    fields["next_poll_at"] = _later(_next_poll(provider))
    if result.state == "running" and job.status == Status.QUEUED:
        transition(job, Status.RUNNING, f"Running at {provider.label}", **fields)
        return
    if result.state == "unknown":
        log.warning("job %s: unknown upstream status %r", job.pk, result.upstream_status)
    Job.objects.filter(pk=job.pk, status=job.status).update(**fields)


def collect(job: Job, provider: Provider, result: PollResult) -> None:
    """Download the finished video into our storage and mark the job succeeded."""
    # Downloads can take a while: hold the job for longer than a poll.
    Job.objects.filter(pk=job.pk).update(
        next_poll_at=_later(_seconds("STUDIO_DOWNLOAD_LEASE", 300))
    )
    with tempfile.TemporaryDirectory(prefix="studio-dl-") as tmp:
        dest = Path(tmp) / "result.bin"
        try:
            content_type = provider.download(job.upstream_id, result, dest)
        except ProviderError as exc:
            _download_failed(job, provider, exc)
            return
        checkpoint("after_download")
        try:
            store_result(job, dest, content_type=content_type, media_id=result.media_id)
        except ResultError as exc:
            transition(
                job,
                Status.FAILED,
                str(exc),
                error_message=str(exc),
                fail_reason=FailReason.NO_OUTPUT,
                next_poll_at=None,
            )


def _download_failed(job: Job, provider: Provider, exc: ProviderError) -> None:
    if exc.permanent or _past_deadline(job):
        reason = exc.reason if exc.reason in FailReason.values else FailReason.DOWNLOAD
        if job.status == Status.FAILED:
            _schedule_late(job)
            return
        transition(
            job,
            Status.FAILED,
            f"The result could not be downloaded: {exc.message}",
            error_message=f"The result could not be downloaded: {exc.message}",
            fail_reason=reason,
            next_poll_at=None,
        )
        return
    Job.objects.filter(pk=job.pk).update(
        poll_attempts=F("poll_attempts") + 1,
        next_poll_at=_later(
            _backoff(job.poll_attempts + 1, base=5, cap=60, retry_after=exc.retry_after)
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
    if timezone.now() - finished > LATE_RECONCILE_WINDOW:
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
        return
    Job.objects.filter(pk=job.pk, status=Status.FAILED).update(
        next_poll_at=_later(LATE_POLL_INTERVAL)
    )
