"""Local-engine jobs: rendered inside the worker. Free, so safe to repeat."""

from __future__ import annotations

import logging
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.db.models import F

from studio.models import FailReason, Job, Mode, Status
from studio.providers import registry
from studio.services.jobs import record_event, transition
from studio.services.results import ResultError, store_result
from studio.services.worker import _build_request, _later, _render_lease, checkpoint

log = logging.getLogger(__name__)


def claim_stale_render(job: Job) -> bool:
    """Take a running local job whose lease ran out (the worker rendering it died)."""
    updated = Job.objects.filter(
        pk=job.pk, status=Status.RUNNING, next_poll_at=job.next_poll_at
    ).update(
        next_poll_at=_later(_render_lease()),
        submit_attempts=F("submit_attempts") + 1,
        progress=0,
    )
    if updated != 1:
        return False
    job.refresh_from_db()
    record_event(job, "Render restarted: the worker rendering it stopped")
    return True


def render(job: Job) -> None:
    """Render a claimed local-engine job in this process. Free, so safe to repeat."""
    from studio.engine.errors import EngineError

    limit = int(getattr(settings, "STUDIO_MAX_RENDER_ATTEMPTS", 3))
    if job.submit_attempts > limit:
        transition(
            job,
            Status.FAILED,
            f"The local engine stopped {limit} times on this job",
            error_message="The local engine kept stopping on this job.",
            fail_reason=FailReason.ENGINE,
            next_poll_at=None,
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

    checkpoint("during_render")
    suffix = ".gif" if job.mode == Mode.GIF else ".mp4"
    with tempfile.TemporaryDirectory(prefix="studio-render-") as tmp, ExitStack() as stack:
        dest = Path(tmp) / f"out{suffix}"
        try:
            request = _build_request(job, stack)
            provider.render(request, dest, progress)
            store_result(job, dest, content_type="image/gif" if suffix == ".gif" else "video/mp4")
        except (EngineError, ResultError) as exc:
            transition(
                job,
                Status.FAILED,
                f"The local engine could not make this: {exc}",
                error_message=str(exc),
                fail_reason=FailReason.ENGINE,
                next_poll_at=None,
            )
        except Exception:
            log.exception("local render of job %s failed", job.pk)
            transition(
                job,
                Status.FAILED,
                "The local engine hit an internal error",
                error_message="The local engine hit an internal error.",
                fail_reason=FailReason.ENGINE,
                next_poll_at=None,
            )
