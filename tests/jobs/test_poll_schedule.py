"""Quiet polls follow the provider's schedule: 5 s, growing x1.5 to 20 s (upstream contracts §5.2).

Polling a long job every 5 s for its whole life costs four times the polls of
the documented schedule: ten thousand jobs in flight needed 2,000 polls a
second where the schedule asks 500 (docs/performance.md, "Job engine at scale").
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.runner import SandboxHandle
from studio.jobs import poll, sweep
from studio.models import Job, Status
from studio.providers.base import Provider
from studio.providers.mountsea import MountseaProvider
from studio.providers.openai_videos import OpenAIVideosProvider
from tests.conftest import Cast
from tests.factories import drive, request_job


def _delays(provider: Provider, age: float, samples: int = 200) -> tuple[float, float]:
    job = Job(submitted_at=timezone.now() - timedelta(seconds=age))
    delays = [poll.next_poll_delay(provider, job) for _ in range(samples)]
    return min(delays), max(delays)


@pytest.mark.parametrize(
    ("provider", "age", "interval"),
    [
        (MountseaProvider(api_key="k"), 0, 5.0),
        (MountseaProvider(api_key="k"), 5, 7.5),
        (MountseaProvider(api_key="k"), 12.5, 11.25),
        (MountseaProvider(api_key="k"), 60, 20.0),
        (MountseaProvider(api_key="k"), 3600, 20.0),
        (OpenAIVideosProvider(base_url="http://gw", api_key="k"), 10, 15.0),
        (OpenAIVideosProvider(base_url="http://gw", api_key="k"), 600, 20.0),
    ],
)
def test_the_next_quiet_poll_grows_with_the_jobs_age_up_to_the_providers_cap(
    provider: Provider, age: float, interval: float
) -> None:
    low, high = _delays(provider, age)
    # Jitter only ever makes a poll earlier, by at most 15 %.
    assert interval * 0.85 - 0.01 <= low <= high <= interval + 0.01


def test_a_job_without_a_submit_time_is_polled_at_the_first_interval() -> None:
    delay = poll.next_poll_delay(MountseaProvider(api_key="k"), Job())
    assert 4.25 - 0.01 <= delay <= 5.0 + 0.01


@pytest.mark.django_db(transaction=True)
def test_a_quiet_answer_for_an_old_job_is_next_polled_at_the_cap_not_every_five_seconds(
    cast: Cast, gateway: SandboxHandle
) -> None:
    gateway.configure(step_seconds=60)  # every answer is "still working": a quiet one
    job = drive(
        request_job(cast.project, cast.editor, "mountsea"), until={Status.QUEUED, Status.RUNNING}
    )
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(submitted_at=an_hour_ago, next_poll_at=timezone.now())

    before = timezone.now()
    sweep.poll_batch([Job.objects.get(pk=job.pk)])

    job.refresh_from_db()
    assert job.status in {Status.QUEUED, Status.RUNNING}
    assert job.next_poll_at is not None
    waits = (job.next_poll_at - before).total_seconds()
    assert 17 <= waits <= 21, waits
