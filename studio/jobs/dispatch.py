"""Hand a job's next step to a django-q2 task.

Two steps run as tasks, so operators see them in the admin and a long one never
delays the scheduler: submitting a draft (which, for the local engine, renders it
too) and restarting a local render whose worker died. Polls stay in the
scheduler's threads.

Every task message carries a claim token: the value the job's `next_poll_at` had
when the message was sent. The task acts only while the job still holds that
value, and its first act changes it. So a message the broker delivers twice (the
ORM broker redelivers anything not acknowledged within `retry` seconds, which a
long render always is) or a message that arrives after the job moved on does
nothing. A lost message costs one lease: the sweep hands the job over again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import F
from django_q.tasks import async_task

from studio.jobs import leases
from studio.jobs.states import record_event
from studio.models import Job, Status
from studio.providers import registry

log = logging.getLogger(__name__)

SUBMIT_TASK = "studio.tasks.submit_job"
RENDER_TASK = "studio.tasks.render_job"


def claim(job: Job) -> datetime | None:
    """Take a due draft for a task; returns the token the task must hold, or None."""
    token = leases.token(leases.dispatch_lease())
    updated = Job.objects.filter(
        pk=job.pk, status=Status.DRAFT, next_poll_at=job.next_poll_at
    ).update(next_poll_at=token)
    return token if updated == 1 else None


def claim_stale_render(job: Job) -> datetime | None:
    """Take a running local job whose lease ran out (the worker rendering it died)."""
    token = leases.token(leases.dispatch_lease())
    updated = Job.objects.filter(
        pk=job.pk, status=Status.RUNNING, next_poll_at=job.next_poll_at
    ).update(next_poll_at=token, submit_attempts=F("submit_attempts") + 1, progress=0)
    if updated != 1:
        return None
    job.refresh_from_db()
    record_event(job, "Render restarted: the worker rendering it stopped")
    return token


def task_for(job: Job) -> str:
    """The task that takes the job's next step: a draft is submitted, a running job rendered."""
    return SUBMIT_TASK if job.status == Status.DRAFT else RENDER_TASK


def enqueue(job: Job, token: datetime | None) -> None:
    """Send the task for the job's next step. Losing this message only delays the job:
    the sweep finds every due job in the database."""
    # A local render runs inside its task and may take as long as its lease; the
    # cluster's `timeout` (far shorter) must not kill it. When the lease runs out
    # the sweep restarts the render anyway, so the task may stop then too.
    local = not registry.provider_class(job.provider).remote
    options = {"timeout": int(leases.render_lease())} if local else {}
    try:
        async_task(task_for(job), job.pk, token, task_name=f"job-{job.pk}", **options)
    except Exception:  # the broker may be down; the sweep still finds the job
        log.warning("could not enqueue job %s; the sweep will pick it up", job.pk)
