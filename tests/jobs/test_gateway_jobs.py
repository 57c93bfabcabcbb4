"""Jobs through the gateway providers, against the sandbox gateway over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sandbox.runner import SandboxHandle
from studio.jobs.actions import mark_failed, resubmit_job
from studio.models import FailReason, Job, Status, Video
from tests.conftest import Cast
from tests.factories import drive, make_reference, request_job
from tests.support import engine

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_mountsea_job_is_submitted_once_polled_and_its_video_stored(
    cast: Cast, gateway: SandboxHandle
) -> None:
    job = drive(request_job(cast.project, cast.editor, "mountsea"))
    assert job.status == Status.SUCCEEDED, job.events.values_list("reason", flat=True)
    assert gateway.creates == 1
    video = Video.objects.get(job=job)
    assert video.width > 0 and video.duration_seconds > 0 and video.codec == "h264"
    assert video.poster.name and video.thumbnail.name
    assert video.media_id
    assert job.raw_result and job.raw_result.get("status") == "completed"
    statuses = list(job.events.values_list("to_status", flat=True))
    assert statuses[:3] == ["draft", "submitting", "queued"]
    assert statuses[-1] == "succeeded"


def test_an_openai_format_job_is_collected_from_the_content_endpoint(
    cast: Cast, gateway: SandboxHandle
) -> None:
    job = drive(request_job(cast.project, cast.editor, "openai"))
    assert job.status == Status.SUCCEEDED
    assert gateway.creates == 1
    assert gateway.downloads >= 1
    assert Video.objects.get(job=job).height > Video.objects.get(job=job).width


def test_img2video_on_mountsea_sends_signed_links_the_gateway_can_fetch(
    cast: Cast, gateway: SandboxHandle, live_server: Any, settings: Any
) -> None:
    settings.STUDIO_PUBLIC_URL = live_server.url
    start = make_reference(cast.team)
    end = make_reference(cast.team, (20, 90, 200))
    job = drive(
        request_job(
            cast.project,
            cast.editor,
            "mountsea",
            mode="img2video",
            images=[(start, "start"), (end, "end")],
        )
    )
    assert job.status == Status.SUCCEEDED
    body = gateway.stats()["create_bodies"][0]["body"]
    assert len(body["imageList"]) == 2
    assert all(url.startswith(live_server.url + "/s/ref/") for url in body["imageList"])


@pytest.mark.parametrize("fault", ["429", "503"])
def test_a_refused_create_is_retried_and_reaches_the_gateway_once(
    cast: Cast, gateway: SandboxHandle, fault: str
) -> None:
    gateway.arm("create", fault, times=2)
    job = request_job(cast.project, cast.editor, "mountsea")
    engine.run_due_jobs()
    job.refresh_from_db()
    assert job.status == Status.DRAFT
    assert job.next_poll_at is not None and job.next_poll_at > timezone.now()
    job = drive(job)
    assert job.status == Status.SUCCEEDED
    assert job.submit_attempts == 3
    assert gateway.creates == 1


def test_a_create_that_never_reaches_the_gateway_is_retried(
    cast: Cast, gateway: SandboxHandle, settings: Any
) -> None:
    settings.STUDIO_MOUNTSEA_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    job = request_job(cast.project, cast.editor, "mountsea")
    engine.run_due_jobs()
    job.refresh_from_db()
    assert job.status == Status.DRAFT
    assert "nothing was started upstream" in job.events.last().reason  # type: ignore[union-attr]


@pytest.mark.parametrize("fault", ["read_timeout", "drop_after_create", "500", "502"])
def test_a_create_with_an_unknown_outcome_needs_attention_and_is_never_resent(
    cast: Cast, gateway: SandboxHandle, fault: str
) -> None:
    gateway.arm("create", fault if fault != "read_timeout" else "read_timeout=3")
    job = request_job(cast.project, cast.editor, "mountsea")
    engine.run_due_jobs()
    job.refresh_from_db()
    assert job.status == Status.NEEDS_ATTENTION
    for _ in range(5):
        Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(hours=1))
        engine.run_due_jobs()
    job.refresh_from_db()
    assert job.status == Status.NEEDS_ATTENTION
    assert gateway.creates == 1


def test_a_job_needing_attention_can_be_resubmitted_or_marked_failed(
    cast: Cast, gateway: SandboxHandle
) -> None:
    gateway.arm("create", "drop_after_create", times=2)
    first = request_job(cast.project, cast.editor, "mountsea")
    second = request_job(cast.project, cast.editor, "mountsea", prompt_text="Another one")
    engine.run_due_jobs()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Status.NEEDS_ATTENTION
    resubmit_job(first, cast.editor)
    assert drive(first).status == Status.SUCCEEDED
    mark_failed(second, cast.editor)
    second.refresh_from_db()
    assert (second.status, second.fail_reason) == (Status.FAILED, FailReason.OPERATOR)
    assert gateway.creates == 3


def test_a_permanent_refusal_fails_the_job_with_the_gateways_message(
    cast: Cast, gateway: SandboxHandle, settings: Any
) -> None:
    settings.STUDIO_MOUNTSEA_KEY = "wrong-key-that-must-not-leak"
    job = drive(request_job(cast.project, cast.editor, "mountsea"))
    assert job.status == Status.FAILED
    assert job.fail_reason == FailReason.AUTH
    assert "wrong-key-that-must-not-leak" not in job.error_message
    assert "wrong-key-that-must-not-leak" not in " ".join(
        job.events.values_list("reason", flat=True)
    )
    assert gateway.creates == 0


@pytest.mark.parametrize("fault", ["500", "429", "malformed_json", "unknown_status", "latency=0.2"])
def test_transient_poll_trouble_is_retried_until_success(
    cast: Cast, gateway: SandboxHandle, fault: str
) -> None:
    gateway.arm("poll", fault, times=3)
    job = drive(request_job(cast.project, cast.editor, "mountsea"))
    assert job.status == Status.SUCCEEDED
    assert gateway.creates == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("fail", FailReason.UPSTREAM_ERROR),
        ("timeout", FailReason.TIMEOUT),
        ("no_url", FailReason.NO_OUTPUT),
    ],
)
def test_failed_tasks_end_in_a_clear_failed_state(
    cast: Cast, gateway: SandboxHandle, fault: str, reason: str
) -> None:
    gateway.arm("create", fault)
    job = drive(request_job(cast.project, cast.editor, "mountsea"))
    assert job.status == Status.FAILED
    assert job.fail_reason == reason
    assert job.error_message


def test_an_expired_result_url_fails_the_job_as_expired(cast: Cast, gateway: SandboxHandle) -> None:
    gateway.arm("create", "expire_result")
    job = drive(request_job(cast.project, cast.editor, "mountsea"))
    assert job.status == Status.FAILED
    assert job.fail_reason in (FailReason.EXPIRED, FailReason.DOWNLOAD)
    assert not Video.objects.filter(job=job).exists()


def test_past_the_deadline_a_job_times_out_and_a_late_success_is_still_collected(
    cast: Cast, gateway: SandboxHandle
) -> None:
    gateway.configure(step_seconds=60)
    job = request_job(cast.project, cast.editor, "mountsea")
    engine.run_due_jobs()
    Job.objects.filter(pk=job.pk).update(
        deadline_at=timezone.now() - timedelta(seconds=1), next_poll_at=timezone.now()
    )
    engine.run_due_jobs()
    job.refresh_from_db()
    assert (job.status, job.fail_reason) == (Status.FAILED, FailReason.TIMEOUT)
    # The upstream task finishes late, after Studio gave up on it.
    with gateway.state.lock:
        gateway.state.tasks[job.upstream_id].step = 0
    job = drive(job, until={"succeeded"})
    assert job.status == Status.SUCCEEDED
    assert "Late success" in job.events.filter(to_status="succeeded").get().reason


def test_a_restarted_worker_resumes_in_flight_jobs_from_the_database(
    cast: Cast, gateway: SandboxHandle
) -> None:
    jobs = [
        request_job(cast.project, cast.editor, "mountsea", prompt_text=f"shot {i}")
        for i in range(3)
    ]
    engine.run_due_jobs()
    # A new worker knows nothing but the database.
    for job in jobs:
        assert drive(job).status == Status.SUCCEEDED
    assert gateway.creates == 3


def test_a_draft_of_a_team_suspended_before_it_was_sent_is_never_sent(
    cast: Cast, gateway: SandboxHandle
) -> None:
    from studio.models import LedgerEntry, TeamBudget
    from studio.services import moderation

    TeamBudget.objects.create(team=cast.team, balance=1000)
    job = request_job(cast.project, cast.editor, "mountsea")
    moderation.suspend_team(cast.team, None)
    job = drive(job)
    assert (job.status, job.fail_reason) == (Status.FAILED, FailReason.SUSPENDED)
    assert gateway.creates == 0
    kinds = sorted(LedgerEntry.objects.filter(job=job).values_list("kind", flat=True))
    assert kinds == ["release", "reserve"]  # nothing charged
