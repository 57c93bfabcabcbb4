"""The sweep: find every due job in the database and give it its next step.

The sweeper task (`studio.tasks.sweeper`) runs `run_due_jobs` a few times a
second. Polls of gateway jobs are batched: one UPDATE claims every due job,
the HTTP calls run in threads with no database work, and the answers that
change nothing but the next poll time are written back in one bulk UPDATE.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from studio.models import FailReason, Job, Status, WorkerHeartbeat
from studio.providers import registry
from studio.providers.base import PollResult
from studio.services.jobs import transition
from studio.services.rendering import claim_stale_render
from studio.services.worker import (
    _later,
    _seconds,
    apply_poll_outcome,
    checkpoint,
    fetch_poll,
    is_quiet,
    poll,
    quiet_update,
    submit,
)

log = logging.getLogger(__name__)


def expire_stale_submissions() -> int:
    """Jobs left in submitting by a worker that died: the outcome is unknown."""
    count = 0
    stale = Job.objects.filter(status=Status.SUBMITTING, next_poll_at__lte=timezone.now())
    for job in stale:
        provider = registry.provider_class(job.provider)
        if provider.remote:
            moved = transition(
                job,
                Status.NEEDS_ATTENTION,
                "The worker stopped while submitting this job; it may or may not have reached "
                "the provider, so it will not be sent again automatically.",
                expect=Status.SUBMITTING,
                error_message="The worker stopped while submitting.",
                next_poll_at=None,
            )
        else:
            # Nothing left this machine: rendering can start over.
            moved = transition(
                job,
                Status.DRAFT,
                "The worker stopped before rendering; starting again",
                expect=Status.SUBMITTING,
                next_poll_at=None,
            )
        count += int(moved)
    return count


def due_jobs(limit: int = 500) -> list[Job]:
    now = timezone.now()
    due = (
        Q(status=Status.DRAFT, next_poll_at__isnull=True)
        | Q(status__in=[Status.DRAFT, Status.QUEUED, Status.RUNNING], next_poll_at__lte=now)
        | Q(status=Status.FAILED, fail_reason=FailReason.TIMEOUT, next_poll_at__lte=now)
    )
    return list(Job.objects.filter(due).order_by("next_poll_at", "pk")[:limit])


def process(job: Job, *, from_task: bool = False) -> None:
    """Do whatever is due for one job."""
    if job.status == Status.DRAFT:
        submit(job, from_task=from_task)
    elif job.status in (Status.QUEUED, Status.RUNNING) or (
        job.status == Status.FAILED and job.fail_reason == FailReason.TIMEOUT
    ):
        poll(job)


def run_due_jobs(*, inline_renders: bool = True, pool: ThreadPoolExecutor | None = None) -> int:
    """One pass of the sweep: every due job gets its next step. Returns how many.

    With `inline_renders=False` (the sweeper in the cluster) local renders are
    handed to their own tasks so a long render never delays other jobs' polls.
    """
    expire_stale_submissions()
    jobs = due_jobs()
    local = [j for j in jobs if not registry.provider_class(j.provider).remote]
    remote = [j for j in jobs if registry.provider_class(j.provider).remote]
    for job in local:
        if inline_renders:
            process(job)
        else:
            _enqueue_local(job)
    polls = [j for j in remote if j.status != Status.DRAFT]
    drafts = [j for j in remote if j.status == Status.DRAFT]
    if pool is None:
        for job in drafts:
            process(job)
    else:
        list(pool.map(_process_in_thread, drafts))
    for provider_name in {j.provider for j in polls}:
        poll_batch([j for j in polls if j.provider == provider_name], pool)
    return len(jobs)


# Called with each job a batch polls, just before its request (benchmarks).
POLL_OBSERVER: Callable[[Job], None] | None = None


def poll_batch(jobs: list[Job], pool: ThreadPoolExecutor | None = None) -> None:
    """Poll due gateway jobs of one provider together.

    One UPDATE claims them all with a lease whose exact value is this batch's
    token, so a job another process claimed meanwhile is simply not ours. The
    HTTP requests run in the pool's threads without touching the database.
    """
    if not jobs:
        return
    provider = registry.get_provider(jobs[0].provider)
    now = timezone.now()
    token = _later(_seconds("STUDIO_POLL_LEASE", 60)) + timedelta(
        microseconds=random.randrange(1, 999_999)
    )
    ids = [j.pk for j in jobs]
    Job.objects.filter(pk__in=ids, next_poll_at__lte=now).filter(
        Q(status__in=[Status.QUEUED, Status.RUNNING])
        | Q(status=Status.FAILED, fail_reason=FailReason.TIMEOUT)
    ).update(next_poll_at=token)
    mine = set(Job.objects.filter(pk__in=ids, next_poll_at=token).values_list("pk", flat=True))
    claimed = [j for j in jobs if j.pk in mine]
    if claimed:
        checkpoint("during_poll")
    if POLL_OBSERVER is not None:
        for job in claimed:
            POLL_OBSERVER(job)
    upstream_ids = [j.upstream_id for j in claimed]
    if pool is None:
        outcomes = [fetch_poll(provider, u) for u in upstream_ids]
    else:
        outcomes = list(pool.map(lambda u: fetch_poll(provider, u), upstream_ids))
    quiet = []
    for job, outcome in zip(claimed, outcomes, strict=True):
        job.next_poll_at = token
        if isinstance(outcome, PollResult) and is_quiet(job, outcome):
            quiet_update(job, provider, outcome)
            quiet.append(job)
            continue
        try:
            apply_poll_outcome(job, provider, outcome)
        except Exception:
            log.exception("applying a poll result to job %s failed", job.pk)
    save_quiet(quiet)


def save_quiet(jobs: list[Job]) -> None:
    """Write the quiet answers back: one prepared UPDATE executed for every job.

    (Django's bulk_update builds CASE expressions whose cost grows with the
    square of the batch on SQLite: two seconds for 500 jobs.)
    """
    if not jobs:
        return
    ops = connection.ops
    table = connection.ops.quote_name(Job._meta.db_table)
    sql = (
        f"UPDATE {table} SET upstream_status = %s, progress = %s, poll_attempts = 0, "
        "next_poll_at = %s WHERE id = %s"
    )
    rows = [
        (j.upstream_status, j.progress, ops.adapt_datetimefield_value(j.next_poll_at), j.pk)
        for j in jobs
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _process_in_thread(job: Job) -> None:
    try:
        process(job)
    except Exception:
        log.exception("processing job %s failed", job.pk)
    finally:
        # Pool threads outlive the pass; their connections must not.
        connections.close_all()


def _enqueue_local(job: Job) -> None:
    """Hand a due local job to its own task, marking it so later passes skip it."""
    from studio.services.jobs import enqueue_job

    if job.status == Status.RUNNING:
        # The render lease ran out: take it here, render in the task.
        if claim_stale_render(job):
            enqueue_job(job.pk, render=True)
        return
    updated = Job.objects.filter(
        pk=job.pk, status=job.status, next_poll_at=job.next_poll_at
    ).update(next_poll_at=_later(60))
    if updated == 1:
        enqueue_job(job.pk)


SWEEPER_LEASE = "sweeper-lease"


def acquire_sweeper_lease() -> bool:
    """Only one sweeper loop at a time; a dead one's lease runs out in ~15 s."""
    now = timezone.now()
    stale = now - timedelta(seconds=_seconds("STUDIO_SWEEPER_LEASE", 15))
    WorkerHeartbeat.objects.get_or_create(
        name=SWEEPER_LEASE, defaults={"beat_at": stale - timedelta(seconds=1), "pid": 0}
    )
    taken = WorkerHeartbeat.objects.filter(
        Q(beat_at__lt=stale) | Q(pid=os.getpid()), name=SWEEPER_LEASE
    ).update(beat_at=now, pid=os.getpid())
    return taken == 1


def sweeper_lease_is_live() -> bool:
    """True when another sweeper renewed the lease within the last few seconds."""
    recent = timezone.now() - timedelta(seconds=3)
    return WorkerHeartbeat.objects.filter(
        name=SWEEPER_LEASE, beat_at__gte=recent, pid__gt=0
    ).exists()


def renew_sweeper_lease() -> bool:
    return (
        WorkerHeartbeat.objects.filter(name=SWEEPER_LEASE, pid=os.getpid()).update(
            beat_at=timezone.now()
        )
        == 1
    )


def release_sweeper_lease() -> None:
    WorkerHeartbeat.objects.filter(name=SWEEPER_LEASE, pid=os.getpid()).update(
        beat_at=timezone.now() - timedelta(hours=1), pid=0
    )


def heartbeat(name: str = "worker") -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "pid": os.getpid()}
    )
