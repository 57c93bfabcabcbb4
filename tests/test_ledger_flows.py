"""Credits through the real engine and the sandbox gateway over HTTP: refused before
anything is sent, charged when the video arrives, given back when the provider
refuses or is never reached."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sandbox.runner import SandboxHandle
from studio.jobs.create import JobRequestError
from studio.models import FailReason, Job, LedgerEntry, Status, TeamBudget
from tests.conftest import Cast
from tests.factories import drive, request_job
from tests.support import engine

pytestmark = pytest.mark.django_db(transaction=True)


def kinds(job: Job) -> list[str]:
    return list(LedgerEntry.objects.filter(job=job).order_by("id").values_list("kind", flat=True))


def balance(cast: Cast) -> int:
    return TeamBudget.objects.get(team=cast.team).balance


def test_a_team_over_budget_is_refused_at_create_and_nothing_is_sent_upstream(
    cast: Cast, sandbox: SandboxHandle
) -> None:
    TeamBudget.objects.create(team=cast.team, balance=30)
    with pytest.raises(JobRequestError) as refused:
        request_job(cast.project, cast.editor, "mountsea")
    assert refused.value.errors == {
        "__all__": ["This team has 30 credits left; this job costs 40."]
    }
    engine.run_due_jobs()
    assert not Job.objects.exists()
    assert sandbox.creates == 0
    assert balance(cast) == 30


def test_the_generate_form_shows_the_budget_refusal(cast: Cast, sandbox: SandboxHandle) -> None:
    TeamBudget.objects.create(team=cast.team, balance=30)
    response = cast.client_for(cast.editor).post(
        f"/projects/{cast.project.public_id}/generate/",
        {
            "mode": "text2video",
            "provider": "mountsea",
            "model": "veo31_fast",
            "prompt": "A paper boat on a rainy street",
            "aspect_ratio": "16:9",
            "idempotency_key": str(uuid.uuid4()),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "This team has 30 credits left; this job costs 40." in response.content.decode()
    assert not Job.objects.exists()


def test_a_delivered_video_is_charged_once(cast: Cast, sandbox: SandboxHandle) -> None:
    TeamBudget.objects.create(team=cast.team, balance=100)
    job = drive(request_job(cast.project, cast.editor, "mountsea"))
    assert job.status == Status.SUCCEEDED
    assert kinds(job) == ["reserve", "settle"]
    assert balance(cast) == 60


def test_a_permanent_refusal_by_the_gateway_is_not_charged(
    cast: Cast, sandbox: SandboxHandle, settings: Any
) -> None:
    TeamBudget.objects.create(team=cast.team, balance=100)
    settings.STUDIO_MOUNTSEA_KEY = "wrong-key"
    job = drive(request_job(cast.project, cast.editor, "mountsea"))
    assert (job.status, job.fail_reason) == (Status.FAILED, FailReason.AUTH)
    assert kinds(job) == ["reserve", "release"]
    assert balance(cast) == 100


def test_a_create_that_never_reaches_the_gateway_is_not_charged(
    cast: Cast, sandbox: SandboxHandle, settings: Any
) -> None:
    TeamBudget.objects.create(team=cast.team, balance=100)
    settings.STUDIO_MOUNTSEA_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    settings.STUDIO_MAX_SUBMIT_ATTEMPTS = 1
    job = request_job(cast.project, cast.editor, "mountsea")
    engine.run_due_jobs()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert kinds(job) == ["reserve", "release"]
    assert balance(cast) == 100
    assert sandbox.creates == 0
