"""django-q2 entry points: a few lines each, load by primary key, call a service."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

from studio.models import Job, Status
from studio.services import rendering, sweep

log = logging.getLogger(__name__)


def process_job(job_pk: int) -> None:
    job = Job.objects.filter(pk=job_pk).first()
    if job is not None:
        sweep.process(job, from_task=True)


def render_job(job_pk: int) -> None:
    job = Job.objects.filter(pk=job_pk, status=Status.RUNNING).first()
    if job is not None:
        rendering.render(job)


def sweeper() -> None:
    """Poll due jobs for a few seconds, then hand over to a fresh sweeper task.

    django-q2's scheduler wakes only every ~30 s, so polling every few seconds
    needs a loop. It is short so that a stopping cluster, which waits for its
    running tasks, stops quickly. One sweeper runs at a time (a lease in the
    database); the every-minute schedule restarts it if its worker died.
    """
    loop_seconds = float(getattr(settings, "STUDIO_SWEEP_SECONDS", 5))
    tick = float(getattr(settings, "STUDIO_SWEEP_TICK", 0.25))
    # A sweeper of a worker that was killed holds the lease until it runs out:
    # wait for that rather than leave the jobs without a sweeper for a minute.
    # A live sweeper renews its lease every tick, so then this one leaves.
    while not sweep.acquire_sweeper_lease():
        if sweep.sweeper_lease_is_live():
            return
        time.sleep(0.5)
    deadline = time.monotonic() + loop_seconds
    threads = int(getattr(settings, "STUDIO_POLL_THREADS", 8))
    try:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="poll") as pool:
            while time.monotonic() < deadline:
                sweep.heartbeat()
                if not sweep.renew_sweeper_lease():
                    return
                try:
                    sweep.run_due_jobs(inline_renders=False, pool=pool)
                except Exception:
                    log.exception("sweep pass failed")
                time.sleep(tick)
    finally:
        sweep.release_sweeper_lease()
        close_old_connections()
    enqueue_sweeper()


def enqueue_sweeper() -> None:
    from django_q.tasks import async_task

    async_task("studio.tasks.sweeper", task_name="studio-sweeper")
