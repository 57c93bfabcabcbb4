"""Local-engine jobs: rendered inside a django-q2 task. Free, so safe to repeat.

A render holds its job with the render lease (`STUDIO_RENDER_LEASE`). If the
worker dies, the lease runs out, the sweep claims the job again
(`dispatch.claim_stale_render`) and a render task starts it over, up to
`STUDIO_MAX_RENDER_ATTEMPTS` times.
"""

from __future__ import annotations

import logging
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from django.conf import settings

from studio.engine.errors import EngineError
from studio.jobs import leases
from studio.jobs.request import build_request
from studio.jobs.results import ResultError, store_result
from studio.jobs.states import fail
from studio.models import FailReason, Job, Mode, Status
from studio.providers import registry
from studio.storage import STORAGE_ERRORS, describe

log = logging.getLogger(__name__)


def resume(job: Job, token: datetime) -> None:
    """The render task for a restarted render: go on only while the job holds `token`.

    Taking the render lease changes `next_poll_at`, so a second delivery of the
    same message finds another value and does nothing.
    """
    taken = Job.objects.filter(pk=job.pk, status=Status.RUNNING, next_poll_at=token).update(
        next_poll_at=leases.later(leases.render_lease())
    )
    if taken != 1:
        return  # a repeated or outdated message: the job has moved on
    job.refresh_from_db()
    render(job)


def render(job: Job) -> None:
    """Render a claimed local-engine job in this process."""
    limit = int(getattr(settings, "STUDIO_MAX_RENDER_ATTEMPTS", 3))
    if job.submit_attempts > limit:
        fail(
            job,
            f"The local engine stopped {limit} times on this job",
            error="The local engine kept stopping on this job.",
            fail_reason=FailReason.ENGINE,
        )
        return
    provider = registry.get_provider(job.provider)
    last_write = [0.0]

    def progress(percent: int) -> None:
        now = time.monotonic()
        if now - last_write[0] >= 0.5:
            last_write[0] = now
            Job.objects.filter(pk=job.pk, status=Status.RUNNING).update(
                progress=max(0, min(99, int(percent)))
            )

    suffix = ".gif" if job.mode == Mode.GIF else ".mp4"
    with tempfile.TemporaryDirectory(prefix="studio-render-") as tmp, ExitStack() as stack:
        dest = Path(tmp) / f"out{suffix}"
        try:
            request = build_request(job, stack)
            provider.render(request, dest, progress)
            store_result(job, dest, content_type="image/gif" if suffix == ".gif" else "video/mp4")
        except (EngineError, ResultError) as exc:
            fail(
                job,
                f"The local engine could not make this: {exc}",
                error=str(exc),
                fail_reason=FailReason.ENGINE,
            )
        except STORAGE_ERRORS as exc:
            # Local renders are free: a clear failure, and "Run again" once storage answers.
            reason = describe(exc)
            log.warning("local render of job %s: storage unavailable: %s", job.pk, reason)
            fail(
                job,
                f"The media storage is unavailable ({reason}); nothing was stored",
                error="Storage is unavailable; nothing was saved. Run the job again.",
                fail_reason=FailReason.ENGINE,
            )
        except Exception:
            log.exception("local render of job %s failed", job.pk)
            fail(
                job,
                "The local engine hit an internal error",
                error="The local engine hit an internal error.",
                fail_reason=FailReason.ENGINE,
            )
