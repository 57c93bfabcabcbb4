"""No overspend under concurrent submits: many threads, each with its own database connection.

Meant for PostgreSQL (the suite's PostgreSQL run), where the budget row's lock
is what keeps the team inside its budget: without `select_for_update` in
`studio.jobs.ledger.locked_budget` all 60 submits got through a 300-credit
budget. On SQLite the same test runs with fewer threads: its write lock
serialises them anyway, and 20 threads would only wait on each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from studio.jobs.create import JobRequestError
from studio.jobs.states import fail, transition
from studio.models import Job, LedgerEntry, Status, TeamBudget
from tests.conftest import Cast
from tests.factories import make_project, request_job

pytestmark = pytest.mark.django_db(transaction=True)

COST = 40
BUDGET = 300  # room for 7 jobs of 40, with 20 left over
ATTEMPTS = 3


def threads() -> int:
    return 20 if connection.vendor == "postgresql" else 6


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start `count` threads at the same moment; each returns a result or its exception."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count  # an exception stands in for a batch that broke

    def run(i: int) -> None:
        from django.db import connections

        try:
            start.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    return results


def sums() -> dict[str, int]:
    rows = LedgerEntry.objects.values("kind").annotate(total=Sum("credits"))
    return {row["kind"]: row["total"] for row in rows}


def test_concurrent_submits_never_overspend_and_every_credit_is_accounted_for(
    cast: Cast, settings: Any
) -> None:
    settings.STUDIO_COSTS = f"local:draft={COST}"
    TeamBudget.objects.create(team=cast.team, balance=BUDGET)
    count = threads()
    users = [cast.owner, cast.editor]
    # One project each: creating a job also touches its project's row, and a
    # shared project row would queue the threads before they reach the budget.
    projects = [make_project(cast.team, f"Project {i}") for i in range(count)]

    def submit(i: int) -> list[Job | Exception]:
        # Each thread keeps submitting, so the checks of many threads overlap.
        outcomes: list[Job | Exception] = []
        for attempt in range(ATTEMPTS):
            try:
                job = request_job(projects[i], users[i % 2], prompt_text=f"Shot {i}.{attempt}")
            except JobRequestError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(job)
        return outcomes

    batches = run_together(count, submit)
    results = [r for b in batches for r in (b if isinstance(b, list) else [b])]
    made = [r for r in results if isinstance(r, Job)]
    refused = [r for r in results if isinstance(r, JobRequestError)]
    assert len(made) + len(refused) == count * ATTEMPTS, results
    expected = min(count * ATTEMPTS, BUDGET // COST)
    assert len(made) == expected
    assert all("this job costs 40" in str(r) for r in refused)
    balance = TeamBudget.objects.get(team=cast.team).balance
    assert balance == BUDGET - COST * expected >= 0
    assert sums() == {"reserve": COST * expected}
    assert Job.objects.count() == expected

    # Now finish them all at once, each job by two threads racing: half fail,
    # half succeed; a job's credits move once whoever wins.
    jobs = list(Job.objects.order_by("pk"))
    for job in jobs[::2]:
        transition(job, Status.SUBMITTING, "Submitting")
        transition(job, Status.RUNNING, "Rendering")

    def finish(i: int) -> bool:
        n = i // 2
        job = Job.objects.get(pk=jobs[n].pk)
        if n % 2 == 0:
            return transition(job, Status.SUCCEEDED, "Stored", expect=Status.RUNNING)
        return fail(job, "Refused", error="Refused", expect=Status.DRAFT)

    results = run_together(len(jobs) * 2, finish)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r is True for r in results) == len(jobs)
    succeeded = Job.objects.filter(status=Status.SUCCEEDED).count()
    failed = Job.objects.filter(status=Status.FAILED).count()
    assert succeeded + failed == len(jobs)
    totals = sums()
    assert totals["reserve"] == totals["settle"] + totals["release"]
    assert totals["settle"] == COST * succeeded and totals["release"] == COST * failed
    assert TeamBudget.objects.get(team=cast.team).balance == BUDGET - COST * succeeded
