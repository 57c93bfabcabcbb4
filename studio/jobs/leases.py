"""How long each step may hold its job, and how long to wait before trying again.

A step claims its job by setting `next_poll_at` into the future (its lease).
A worker that dies leaves the lease to run out; the sweep then finds the job
again. The lengths come from settings so tests and operators can change them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

# A job that timed out is still checked for a late success, for this long and this often.
LATE_RECONCILE_WINDOW = timedelta(hours=24)
LATE_POLL_INTERVAL = 300.0


def later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def token(seconds: float) -> datetime:
    """A lease that is also a claim token: its microseconds make it this claim's own."""
    return later(seconds) + timedelta(microseconds=random.randrange(1, 999_999))


def dispatch_lease() -> float:
    """How long a job handed to a task may wait in the queue before it is handed again."""
    return float(settings.STUDIO_DISPATCH_LEASE)


def submit_lease() -> float:
    return float(settings.STUDIO_SUBMIT_LEASE)


def poll_lease() -> float:
    return float(settings.STUDIO_POLL_LEASE)


def download_lease() -> float:
    return float(settings.STUDIO_DOWNLOAD_LEASE)


def render_lease() -> float:
    return float(settings.STUDIO_RENDER_LEASE)


def backoff(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter on top of half the step, never below Retry-After."""
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = step / 2 + random.uniform(0, step / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
