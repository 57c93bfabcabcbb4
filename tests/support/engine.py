"""Run the job engine inside the test process: a sweep pass whose hand-overs run at once.

The scheduler hands claimed steps to django-q2 tasks; here the same task
functions run in this process, so a test sees the whole step happen.
"""

from __future__ import annotations

import pydoc
from datetime import datetime

from studio.jobs import dispatch, sweep
from studio.models import Job


def run_now(job: Job, token: datetime | None) -> None:
    """What the cluster would do with the task message, done here."""
    task = pydoc.locate(dispatch.task_for(job))
    assert callable(task), dispatch.task_for(job)
    task(job.pk, token)


def run_due_jobs() -> int:
    """One sweep pass, running its submits and renders in this process."""
    return sweep.run_due_jobs(hand_over=run_now)
