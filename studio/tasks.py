"""django-q2 entry points: a few lines each, load by primary key, call the engine.

The scheduler (`studio.jobs.scheduler`) and job creation send these through
`studio.jobs.dispatch`; each message carries the claim token the step must hold.
"""

from __future__ import annotations

from datetime import datetime

from studio.jobs import render, submit
from studio.models import Job, Status


def submit_job(job_pk: int, token: datetime | None) -> None:
    job = Job.objects.filter(pk=job_pk, status=Status.DRAFT).first()
    if job is not None:
        submit.submit(job, token)


def render_job(job_pk: int, token: datetime) -> None:
    job = Job.objects.filter(pk=job_pk, status=Status.RUNNING).first()
    if job is not None:
        render.resume(job, token)
