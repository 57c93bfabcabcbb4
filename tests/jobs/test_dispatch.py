"""Task messages carry a claim token: a repeated or outdated message does nothing,
and the scheduler hands due work to tasks and beats the heartbeat."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from studio import tasks
from studio.jobs import dispatch, render, scheduler
from studio.jobs.states import fail, needs_attention
from studio.models import FailReason, Status, WorkerHeartbeat
from tests.conftest import Cast
from tests.factories import make_job

pytestmark = pytest.mark.django_db


def test_a_submit_message_with_an_outdated_token_leaves_the_draft_alone(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT)
    token = dispatch.claim(job)
    assert token is not None
    tasks.submit_job(job.pk, token - timedelta(seconds=1))
    job.refresh_from_db()
    assert (job.status, job.submit_attempts) == (Status.DRAFT, 0)
    assert job.next_poll_at == token


def test_a_draft_is_claimed_for_one_task_only(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT)
    assert dispatch.claim(job) is not None
    assert dispatch.claim(job) is None  # `job` still holds the old next_poll_at


def test_a_render_message_delivered_twice_renders_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = make_job(
        cast.project,
        cast.editor,
        status=Status.RUNNING,
        next_poll_at=timezone.now() - timedelta(seconds=1),
        submit_attempts=1,
    )
    token = dispatch.claim_stale_render(job)
    assert token is not None
    renders: list[int] = []
    monkeypatch.setattr(render, "render", lambda job: renders.append(job.pk))
    tasks.render_job(job.pk, token)
    tasks.render_job(job.pk, token)  # the broker's redelivery of the same message
    assert renders == [job.pk]
    job.refresh_from_db()
    assert job.submit_attempts == 2
    assert job.events.filter(reason__startswith="Render restarted").count() == 1


def test_fail_and_needs_attention_clear_the_next_poll_time(cast: Cast) -> None:
    soon = timezone.now() + timedelta(minutes=1)
    failed = make_job(cast.project, cast.editor, status=Status.RUNNING, next_poll_at=soon)
    assert fail(failed, "broke", error="It broke.", fail_reason=FailReason.ENGINE)
    failed.refresh_from_db()
    assert (failed.status, failed.error_message, failed.fail_reason) == (
        Status.FAILED,
        "It broke.",
        FailReason.ENGINE,
    )
    assert failed.next_poll_at is None and failed.finished_at is not None
    unclear = make_job(cast.project, cast.editor, status=Status.SUBMITTING, next_poll_at=soon)
    assert needs_attention(unclear, "lost answer", error="The answer was lost.")
    unclear.refresh_from_db()
    assert (unclear.status, unclear.next_poll_at) == (Status.NEEDS_ATTENTION, None)


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_beats_the_heartbeat_and_hands_a_due_draft_to_a_task(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT)
    sent: list[tuple[int, datetime | None]] = []
    monkeypatch.setattr(dispatch, "enqueue", lambda job, token: sent.append((job.pk, token)))
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    scheduler.run(stop)
    job.refresh_from_db()
    assert len(sent) == 1 and sent[0] == (job.pk, job.next_poll_at)
    beat = WorkerHeartbeat.objects.get(name="worker")
    assert (timezone.now() - beat.beat_at).total_seconds() < 5
