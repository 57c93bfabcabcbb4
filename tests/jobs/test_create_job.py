from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from studio.jobs.create import JobRequestError
from studio.models import Job, Status
from tests import factories
from tests.conftest import Cast
from tests.factories import make_reference, request_job

pytestmark = pytest.mark.django_db


def _errors(cast: Cast, provider: str = "mountsea", **fields: Any) -> dict[str, list[str]]:
    with pytest.raises(JobRequestError) as caught:
        request_job(cast.project, cast.editor, provider, **fields)
    assert not Job.objects.exists()
    return caught.value.errors


def test_a_valid_job_is_stored_in_draft_with_its_cost_and_first_event(
    cast: Cast, gateway: Any
) -> None:
    job = request_job(cast.project, cast.editor, "mountsea")
    assert job.status == Status.DRAFT
    assert job.cost_credits > 0
    assert job.events.get().to_status == Status.DRAFT
    # Mountsea drops seeds: none is stored to promise a reproducible re-run.
    assert "seed" not in job.params


def test_an_unknown_model_for_a_mode_is_refused(cast: Cast, gateway: Any) -> None:
    errors = _errors(cast, model="veo31_fast_ingredients", mode="text2video")
    assert "model" in errors
    assert "model" in _errors(cast, model="sora-9")


def test_a_forged_mode_or_provider_is_refused(cast: Cast, gateway: Any) -> None:
    assert "mode" in _errors(cast, mode="teleport")
    assert "provider" in _errors(cast, provider="evil")


def test_a_provider_without_a_key_is_not_available(cast: Cast, settings: Any) -> None:
    settings.STUDIO_MOUNTSEA_KEY = ""
    assert "provider" in _errors(cast)


def test_too_many_or_too_few_images_are_refused(cast: Cast, gateway: Any) -> None:
    images = [(make_reference(cast.team, (i * 40, 0, 0)), "ingredient") for i in range(4)]
    assert "images" in _errors(
        cast, model="veo31_fast_ingredients", mode="ingredients2video", images=images
    )
    assert "images" in _errors(cast, mode="img2video", images=[])
    assert "images" in _errors(cast, images=images[:1])


def test_an_empty_or_overlong_prompt_is_refused(cast: Cast, gateway: Any) -> None:
    assert "prompt" in _errors(cast, prompt_text="   ")
    assert "prompt" in _errors(cast, prompt_text="x" * 5000)


def test_a_forged_aspect_ratio_or_duration_is_refused(cast: Cast, gateway: Any) -> None:
    assert "aspect_ratio" in _errors(cast, params={"aspect_ratio": "4:3"})
    assert "duration_seconds" in _errors(
        cast,
        provider="openai",
        model="veo3.1",
        params={"aspect_ratio": "16:9", "duration_seconds": 5},
    )


def test_another_teams_image_is_refused(cast: Cast, gateway: Any) -> None:
    theirs = make_reference(factories.personal_team(cast.outsider))
    errors = _errors(cast, mode="img2video", images=[(theirs, "start")])
    assert errors["images"] == ["That image is not in this team's library."]


def test_the_same_idempotency_key_gives_back_the_first_job(cast: Cast, gateway: Any) -> None:
    key = uuid.uuid4()
    first = request_job(cast.project, cast.editor, "mountsea", idempotency_key=key)
    second = request_job(
        cast.project,
        cast.editor,
        "mountsea",
        idempotency_key=key,
        prompt_text="something else entirely",
    )
    assert first.pk == second.pk
    assert Job.objects.count() == 1


def test_an_archived_project_takes_no_new_jobs(cast: Cast, gateway: Any) -> None:
    cast.project.archived_at = timezone.now()
    cast.project.save()
    assert "__all__" in _errors(cast)


def test_team_credits_count_finished_and_outstanding_jobs(cast: Cast, gateway: Any) -> None:
    from studio.jobs.states import transition
    from studio.services.ledger import totals

    done = request_job(cast.project, cast.editor, "mountsea")
    running = request_job(cast.project, cast.editor, "mountsea", prompt_text="Second shot")
    failed = request_job(cast.project, cast.editor, "mountsea", prompt_text="Third shot")
    for job, path in (
        (done, ["submitting", "queued", "succeeded"]),
        (running, ["submitting", "queued"]),
        (failed, ["submitting", "failed"]),
    ):
        for status in path:
            transition(job, status, "test")
    # The team page reads the ledger: charged on delivery, held while running, released on failure.
    summary = totals(cast.team)
    assert (summary["charged"], summary["held"]) == (done.cost_credits, running.cost_credits)
    page = cast.client_for(cast.viewer).get(f"/teams/{cast.team.public_id}/").content.decode()
    assert f"<strong>{done.cost_credits}</strong> spent" in page


def test_a_key_another_team_used_makes_this_teams_own_job(cast: Cast, gateway: Any) -> None:
    # Keys were unique across all teams: the second team's submit was a 500.
    key = uuid.uuid4()
    theirs = request_job(cast.outsider_project, cast.outsider, "mountsea", idempotency_key=key)
    ours = request_job(cast.project, cast.editor, "mountsea", idempotency_key=key)
    assert ours.pk != theirs.pk
    assert ours.team_id == cast.team.pk
    assert Job.objects.filter(idempotency_key=key).count() == 2
