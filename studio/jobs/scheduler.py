"""The scheduler: the one place that decides what runs when.

`manage.py worker` runs `run` in its main process, beside the django-q2 cluster
it starts. Every tick (`TICK`, a quarter second) the loop
- beats the heartbeat (`WorkerHeartbeat` row "worker", whose age `/healthz` reports),
- runs one sweep pass (`sweep.run_due_jobs`): expires submissions whose worker
  died, hands due drafts and restarted renders to django-q2 tasks, and polls due
  gateway jobs in batches in its own thread pool (downloads of finished results
  happen here too).
No task re-enqueues itself and no django-q2 Schedule is involved. The cluster
only runs the tasks the sweep hands it; a task's per-task timeout covers a long
render (see `dispatch.enqueue`).

One scheduler per deployment is the intent, but two are harmless: every claim is
a conditional UPDATE (with a token for batches and tasks), so a second scheduler
only finds the jobs already taken and at most looks at a job twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from studio.jobs import sweep
from studio.models import WorkerHeartbeat

log = logging.getLogger(__name__)

TICK = 0.25
HEARTBEAT_EVERY = 5.0
HEARTBEAT_NAME = "worker"


def heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=HEARTBEAT_NAME, defaults={"beat_at": timezone.now(), "pid": os.getpid()}
    )


def run(stop: threading.Event) -> None:
    """Loop until `stop` is set: heartbeat, then a sweep pass, every tick."""
    threads = int(settings.STUDIO_POLL_THREADS)
    last_beat = 0.0
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="poll") as pool:
        while not stop.is_set():
            try:
                if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                    heartbeat()
                    last_beat = time.monotonic()
                sweep.run_due_jobs(pool=pool)
            except Exception:
                log.exception("sweep pass failed")
                close_old_connections()  # a broken connection is replaced next tick
            stop.wait(TICK)
