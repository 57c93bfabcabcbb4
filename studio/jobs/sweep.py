"""The sweep: one pass over the database gives every due job its next step.

The scheduler (`studio.jobs.scheduler`) runs a pass a few times a second:
- a job left in submitting past its lease belonged to a worker that died: a
  gateway job goes to needs_attention (it may have been sent), a local one back
  to draft;
- a due draft, and a local render whose lease ran out, are claimed and handed
  to a task (`dispatch`); drafts take turns between teams, and a team with an
  in-flight limit (its budget's `max_in_flight`) waits while it is full;
- due gateway jobs are polled in batches per provider: one UPDATE claims the
  batch, the HTTP calls run in the pool's threads with no database work, and the
  answers that change nothing but the next poll time go back in one statement;
  every other answer is acted on only after a fresh lease on its job (`renew`), so
  a batch that outlived its lease never acts on a job another worker holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from studio.jobs import dispatch, leases, ledger
from studio.jobs.poll import apply_poll_outcome, fetch_poll, is_quiet, quiet_update
from studio.jobs.states import needs_attention, transition
from studio.models import FailReason, Job, Status
from studio.providers import registry
from studio.providers.base import PollResult

log = logging.getLogger(__name__)

# Runs a claimed step: `dispatch.enqueue` sends it to a django-q2 task.
HandOver = Callable[[Job, datetime | None], None]


def expire_stale_submissions() -> int:
    """Jobs left in submitting by a worker that died: the outcome is unknown."""
    count = 0
    stale = Job.objects.filter(status=Status.SUBMITTING, next_poll_at__lte=timezone.now())
    for job in stale:
        provider = registry.provider_class(job.provider)
        if provider.remote:
            moved = needs_attention(
                job,
                "The worker stopped while submitting this job; it may or may not have reached "
                "the provider, so it will not be sent again automatically.",
                error="The worker stopped while submitting.",
                expect=Status.SUBMITTING,
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
    """Due polls and renders, then due drafts in fair turns (`due_drafts`)."""
    now = timezone.now()
    due = Q(status__in=[Status.QUEUED, Status.RUNNING], next_poll_at__lte=now) | Q(
        status=Status.FAILED, fail_reason=FailReason.TIMEOUT, next_poll_at__lte=now
    )
    polls = list(Job.objects.filter(due).order_by("next_poll_at", "pk")[:limit])
    return polls + due_drafts(limit, now)


def due_drafts(limit: int, now: datetime) -> list[Job]:
    """Due drafts, taking turns between teams: every team's oldest draft, then
    every team's second, and so on, so one team's 500 drafts cannot starve
    another's one. A team with an in-flight limit gets only the room it has left."""
    due = Q(status=Status.DRAFT) & (Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
    turn = Window(RowNumber(), partition_by=[F("team_id")], order_by=[F("pk").asc()])
    drafts = list(Job.objects.filter(due).annotate(turn=turn).order_by("turn", "pk")[: limit * 2])
    room = ledger.in_flight_room({job.team_id for job in drafts}, now)
    fair: list[Job] = []
    for job in drafts:
        if job.team_id in room:
            if room[job.team_id] <= 0:
                continue
            room[job.team_id] -= 1
        fair.append(job)
    return fair[:limit]


def run_due_jobs(
    *, hand_over: HandOver | None = None, pool: ThreadPoolExecutor | None = None
) -> int:
    """One pass of the sweep: every due job gets its next step. Returns how many were due.

    Claimed drafts and restarted renders go to `hand_over` (by default
    `dispatch.enqueue`: a task, so a long render never delays the polls); polls
    run here, in `pool`'s threads if given.
    """
    hand_over = hand_over or dispatch.enqueue
    expire_stale_submissions()
    jobs = due_jobs()
    polls: list[Job] = []
    for job in jobs:
        remote = registry.provider_class(job.provider).remote
        if job.status == Status.DRAFT:
            token = dispatch.claim(job)
        elif not remote and job.status == Status.RUNNING:
            token = dispatch.claim_stale_render(job)
        else:
            polls.append(job)
            continue
        if token is not None:
            hand_over(job, token)
    for provider_name in {j.provider for j in polls}:
        poll_batch([j for j in polls if j.provider == provider_name], pool)
    return len(jobs)


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
    token = leases.token(leases.poll_lease())
    ids = [j.pk for j in jobs]
    Job.objects.filter(pk__in=ids, next_poll_at__lte=now).filter(
        Q(status__in=[Status.QUEUED, Status.RUNNING])
        | Q(status=Status.FAILED, fail_reason=FailReason.TIMEOUT)
    ).update(next_poll_at=token)
    mine = set(Job.objects.filter(pk__in=ids, next_poll_at=token).values_list("pk", flat=True))
    claimed = [j for j in jobs if j.pk in mine]
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
            if renew(job, token):
                apply_poll_outcome(job, provider, outcome)
        except Exception:
            log.exception("applying a poll result to job %s failed", job.pk)
    save_quiet(quiet, token)


def renew(job: Job, token: datetime) -> bool:
    """Take a fresh lease on one job of a claimed batch before acting on its answer.

    A batch whose answers are slow to apply (downloads and stores one after the
    other) can outlive its lease; another worker may then have claimed the job,
    polled it and be collecting it. False when the job no longer holds this
    batch's token: the answer is stale and someone else holds the job.
    """
    fresh = leases.token(leases.poll_lease())
    if Job.objects.filter(pk=job.pk, next_poll_at=token).update(next_poll_at=fresh) != 1:
        return False
    job.next_poll_at = fresh
    return True


def save_quiet(jobs: list[Job], token: datetime) -> None:
    """Write the quiet answers back: one prepared UPDATE executed for every job,
    each only while the job still holds the batch's `token` (see `renew`).

    (Django's bulk_update builds CASE expressions whose cost grows with the
    square of the batch on SQLite: two seconds for 500 jobs.)
    """
    if not jobs:
        return
    ops = connection.ops
    table = connection.ops.quote_name(Job._meta.db_table)
    sql = (
        f"UPDATE {table} SET upstream_status = %s, progress = %s, poll_attempts = 0, "
        "next_poll_at = %s WHERE id = %s AND next_poll_at = %s"
    )
    held = ops.adapt_datetimefield_value(token)
    rows = [
        (j.upstream_status, j.progress, ops.adapt_datetimefield_value(j.next_poll_at), j.pk, held)
        for j in jobs
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
