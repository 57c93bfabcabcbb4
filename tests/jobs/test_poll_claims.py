"""A batch of polls that outlives its lease never acts on a job another worker took.

The sweep claims due jobs in batches with a lease; applying the answers (a
download and a store each, one after the other) can take longer than that
lease, and another worker then claims, polls and collects the same job. The
500-job chaos test (tests/scale) caught two workers acting on one job this way.
Here the other worker's sweep runs, in this process, while the first batch's
HTTP answers are in: a stand-in for the poll thread pool runs it between the
requests and the applying.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.utils import timezone

from sandbox.runner import SandboxHandle
from studio.jobs import leases, sweep
from studio.models import Job, Status, Video
from tests.conftest import Cast
from tests.factories import drive, request_job

pytestmark = pytest.mark.django_db(transaction=True)


class LeaseRunsOut:
    """Runs the batch's requests, then `meanwhile` (another worker's turn), like a slow pool."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        self.meanwhile = meanwhile

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        answers = [fn(item) for item in items]
        self.meanwhile()
        return answers


def submitted(cast: Cast) -> Job:
    job = drive(
        request_job(cast.project, cast.editor, "mountsea"), until={Status.QUEUED, Status.RUNNING}
    )
    Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    job.refresh_from_db()
    return job


def test_a_stale_batch_does_not_collect_a_job_another_worker_collected(
    cast: Cast, gateway: SandboxHandle
) -> None:
    job = submitted(cast)
    time.sleep(0.3)  # the sandbox task is done: the answer is "succeeded"

    def other_worker() -> None:
        # The first batch's lease ran out: the next sweep claims the job and collects it.
        Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
        sweep.poll_batch([Job.objects.get(pk=job.pk)])

    sweep.poll_batch([job], LeaseRunsOut(other_worker))  # type: ignore[arg-type]
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert Video.objects.filter(job=job).count() == 1
    assert gateway.downloads == 1  # the stale answer fetched nothing again
    assert job.events.filter(to_status=Status.SUCCEEDED).count() == 1


def test_a_stale_batch_leaves_the_lease_of_the_worker_that_holds_the_job(
    cast: Cast, gateway: SandboxHandle
) -> None:
    gateway.configure(step_seconds=60)  # every answer is "still queued": a quiet one
    job = submitted(cast)
    theirs = leases.token(300)

    def other_worker() -> None:
        # Another worker claimed the job (say it is downloading its result) meanwhile.
        Job.objects.filter(pk=job.pk).update(next_poll_at=theirs)

    sweep.poll_batch([job], LeaseRunsOut(other_worker))  # type: ignore[arg-type]
    job.refresh_from_db()
    assert job.next_poll_at == theirs
