from __future__ import annotations

import uuid

import pytest
from django.utils.html import escape

from studio import presenters
from studio.models import Job, Status
from tests.conftest import Cast
from tests.factories import make_job, make_video, member_client

pytestmark = pytest.mark.django_db

POLL = 'hx-trigger="every 2s" data-poll-when-visible'
UPDATES = "/jobs/updates/"


def _poll(client, *cards: tuple[Job, str], **extra: str):  # type: ignore[no-untyped-def]
    """The page's one poll, sending each card's id and the version the page shows."""
    query = [("card", f"{job.public_id}.{version}") for job, version in cards]
    query += list(extra.items())
    return client.get(
        UPDATES, query, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/queue/"
    )


def _card(client, job: Job):  # type: ignore[no-untyped-def]
    """The poll's answer for a card the page shows in an older version."""
    return _poll(client, (job, "old"))


def _version(html: str, job: Job) -> str:
    return html.split(f'name="card" value="{job.public_id}.')[1].split('"')[0]


def test_a_running_card_keeps_polling_and_shows_progress_and_elapsed_time(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING, progress=42)
    response = _card(cast.client_for(cast.viewer), job)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="job-{job.public_id}"' in html and 'hx-swap-oob="true"' in html
    assert f'name="card" value="{job.public_id}.' in html  # the poller asks for it again
    assert '<progress max="100" value="42"' in html
    assert "Elapsed" in html
    assert "HX-Trigger" not in response
    assert "HX-Request" in response["Vary"]


def test_a_finished_card_stops_polling_with_286_and_brings_the_video(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.SUCCEEDED)
    video = make_video(job)
    response = _card(cast.client_for(cast.viewer), job)
    html = response.content.decode()
    assert response.status_code == 286
    assert 'name="card"' not in html and "hx-trigger" not in html
    assert f"/videos/{video.public_id}/" in html
    assert "Took" in html


def test_on_the_project_page_a_finished_job_inserts_only_its_own_tile(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.SUCCEEDED, prompt_text="New one")
    video = make_video(job)
    earlier = make_job(cast.project, cast.editor, status=Status.SUCCEEDED, prompt_text="Older")
    make_video(earlier)
    response = _poll(cast.client_for(cast.viewer), (job, "old"), grid="project-video-grid")
    html = response.content.decode()
    assert html.count('hx-swap-oob="afterbegin:#project-video-grid"') == 1
    assert html.count('class="video-tile"') == 1 and "Older" not in html
    assert f"/videos/{video.public_id}/" in html
    # Other pages (queue, job page) have no grid and get the card only.
    assert "video-tile" not in _card(cast.client_for(cast.viewer), job).content.decode()


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELLED])
def test_failed_and_cancelled_cards_stop_polling_without_a_tile(cast: Cast, status: str) -> None:
    job = make_job(cast.project, cast.editor, status=status)
    response = _poll(cast.client_for(cast.viewer), (job, "old"), grid="project-video-grid")
    assert response.status_code == 286
    assert "HX-Trigger" not in response and "video-tile" not in response.content.decode()


def test_the_error_is_shown_in_plain_words(cast: Cast) -> None:
    job = make_job(
        cast.project,
        cast.editor,
        status=Status.FAILED,
        fail_reason="content_filtered",
        error_message="The prompt mentions a real person.",
    )
    html = _card(cast.client_for(cast.viewer), job).content.decode()
    assert "Blocked by the provider&#x27;s safety filter." in html
    assert "The prompt mentions a real person." in html


def test_waiting_jobs_show_their_position_in_the_team_queue(cast: Cast) -> None:
    make_job(cast.project, cast.editor, status=Status.QUEUED)
    make_job(cast.outsider_project, cast.outsider, status=Status.QUEUED)  # another team
    second = make_job(cast.project, cast.editor, status=Status.DRAFT)
    html = _card(cast.client_for(cast.viewer), second).content.decode()
    assert "#2 in the team's queue" in html
    assert "Waiting to submit" in html


def test_plain_get_of_the_updates_is_an_empty_answer(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING)
    response = cast.client_for(cast.viewer).get(UPDATES, {"card": f"{job.public_id}.old"})
    assert response.status_code == 204 and response.content == b""


def test_junk_in_the_poll_is_ignored(cast: Cast) -> None:
    client = cast.client_for(cast.viewer)
    response = client.get(
        UPDATES, {"card": ["nonsense", "", f"{uuid.uuid4()}.1"]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 286 and response.content == b""


def test_the_job_page_shows_the_timeline_and_recall(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.FAILED, prompt_text="Blue hour")
    html = cast.client_for(cast.viewer).get(f"/jobs/{job.public_id}/").content.decode()
    assert "Timeline" in html and "Built for a test" in html
    assert "Blue hour" in html and "How it was made" in html


def test_outsider_gets_404_for_pages_and_actions_and_nothing_from_the_poll(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING, prompt_text="Secret")
    outsider = cast.client_for(cast.outsider)
    poll = _card(outsider, job)
    assert poll.status_code == 286 and poll.content == b""
    assert outsider.get(f"/jobs/{job.public_id}/").status_code == 404
    for action in ("cancel", "retry", "resubmit", "mark-failed"):
        assert outsider.post(f"/jobs/{job.public_id}/{action}/").status_code == 404


def test_viewers_see_no_actions_and_cannot_post_them(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.NEEDS_ATTENTION)
    viewer = cast.client_for(cast.viewer)
    html = _card(viewer, job).content.decode()
    assert "Resubmit</button>" not in html and "Mark failed</button>" not in html
    assert "An editor of the team decides" in html
    for action in ("cancel", "retry", "resubmit", "mark-failed"):
        assert viewer.post(f"/jobs/{job.public_id}/{action}/").status_code == 403
    job.refresh_from_db()
    assert job.status == Status.NEEDS_ATTENTION


def test_every_job_action_refuses_get(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT)
    for action in ("cancel", "retry", "resubmit", "mark-failed"):
        assert (
            cast.client_for(cast.editor).get(f"/jobs/{job.public_id}/{action}/").status_code == 405
        )


def test_editor_cancels_a_waiting_job(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT)
    client = cast.client_for(cast.editor)
    assert "Cancel</button>" in _card(client, job).content.decode()
    response = client.post(f"/jobs/{job.public_id}/cancel/", HTTP_HX_REQUEST="true")
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert response.status_code == 200 and "Cancelled" in response.content.decode()


def test_cancel_is_offered_only_where_the_provider_allows(cast: Cast) -> None:
    local = make_job(cast.project, cast.editor, status=Status.RUNNING)  # local engine: yes
    remote = make_job(
        cast.project, cast.editor, status=Status.RUNNING, provider="gateway", model="veo-fast"
    )
    client = cast.client_for(cast.editor)
    assert "Cancel</button>" in _card(client, local).content.decode()
    assert "Cancel</button>" in _card(client, remote).content.decode()  # can_cancel = True
    submitting = make_job(cast.project, cast.editor, status=Status.SUBMITTING)
    assert "Cancel</button>" not in _card(client, submitting).content.decode()
    response = client.post(f"/jobs/{submitting.public_id}/cancel/", follow=True)
    assert "This job can no longer be cancelled." in response.content.decode()


def test_retrying_a_failed_job_makes_one_new_job_with_the_same_inputs(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.FAILED, prompt_text="Again")
    client = cast.client_for(cast.editor)
    key = str(uuid.uuid4())
    response = client.post(
        f"/jobs/{job.public_id}/retry/", {"idempotency_key": key}, HTTP_HX_REQUEST="true"
    )
    client.post(f"/jobs/{job.public_id}/retry/", {"idempotency_key": key}, HTTP_HX_REQUEST="true")
    new = Job.objects.exclude(pk=job.pk).get()
    assert new.prompt_text == "Again" and new.status == Status.DRAFT
    html = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#job-list"' in html and str(new.public_id) in html


def test_retry_without_js_redirects_back(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.CANCELLED)
    response = cast.client_for(cast.editor).post(
        f"/jobs/{job.public_id}/retry/", {"next": "/queue/"}
    )
    assert response["Location"] == "/queue/"
    response = cast.client_for(cast.editor).post(
        f"/jobs/{job.public_id}/retry/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/jobs/{job.public_id}/"


def test_a_job_that_needs_attention_can_be_resubmitted_or_marked_failed(cast: Cast) -> None:
    first = make_job(cast.project, cast.editor, status=Status.NEEDS_ATTENTION)
    second = make_job(cast.project, cast.editor, status=Status.NEEDS_ATTENTION)
    client = cast.client_for(cast.owner)
    html = _card(client, first).content.decode()
    assert "Resubmit" in html and "Mark failed" in html and "could not confirm" in html
    client.post(f"/jobs/{first.public_id}/resubmit/", HTTP_HX_REQUEST="true")
    client.post(f"/jobs/{second.public_id}/mark-failed/", HTTP_HX_REQUEST="true")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.DRAFT
    assert second.status == Status.FAILED and second.fail_reason == "operator"


def test_an_action_in_the_wrong_state_explains_itself(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING)
    response = cast.client_for(cast.editor).post(
        f"/jobs/{job.public_id}/resubmit/", HTTP_HX_REQUEST="true"
    )
    assert "Only a job that needs attention can be resubmitted." in response.content.decode()


def test_the_team_queue_lists_active_attention_and_failed_jobs(cast: Cast) -> None:
    make_job(cast.project, cast.editor, status=Status.RUNNING, prompt_text="Running one")
    make_job(cast.project, cast.editor, status=Status.NEEDS_ATTENTION, prompt_text="Unsure one")
    make_job(cast.project, cast.editor, status=Status.FAILED, prompt_text="Broken one")
    make_job(cast.outsider_project, cast.outsider, status=Status.RUNNING, prompt_text="Not ours")
    html = member_client(cast.team, cast.viewer).get("/queue/").content.decode()
    for text in ("Running one", "Unsure one", "Broken one"):
        assert text in html
    assert "Not ours" not in html
    assert html.index("Running one") < html.index("Unsure one") < html.index("Broken one")


def test_the_project_page_lists_the_projects_jobs_as_live_cards(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.QUEUED, prompt_text="Queued shot")
    html = cast.client_for(cast.viewer).get(f"/projects/{cast.project.public_id}/").content.decode()
    assert 'id="job-list"' in html
    assert f'id="job-{job.public_id}"' in html and POLL in html


def test_an_unchanged_card_is_answered_204_and_a_change_comes_back(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING, progress=10)
    client = cast.client_for(cast.viewer)
    page = client.get(f"/projects/{cast.project.public_id}/").content.decode()
    version = _version(page, job)
    again = _poll(client, (job, version))
    assert again.status_code == 204 and again.content == b""
    Job.objects.filter(pk=job.pk).update(progress=20)
    moved = _poll(client, (job, version))
    assert moved.status_code == 200 and _version(moved.content.decode(), job) != version
    assert 'value="20"' in moved.content.decode()


def test_a_poll_answers_only_the_cards_that_changed(cast: Cast) -> None:
    jobs = [make_job(cast.project, cast.editor, status=Status.RUNNING) for _ in range(3)]
    client = member_client(cast.team, cast.viewer)
    page = client.get("/queue/").content.decode()
    assert page.count(POLL) == 1  # one poller for the page, none per card
    versions = [(job, _version(page, job)) for job in jobs]
    Job.objects.filter(pk=jobs[1].pk).update(progress=55)
    html = _poll(client, *versions).content.decode()
    assert f'id="job-{jobs[1].public_id}"' in html
    assert str(jobs[0].public_id) not in html and str(jobs[2].public_id) not in html


def test_the_elapsed_time_ticks_in_the_browser_from_the_creation_time(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.QUEUED)
    html = _card(cast.client_for(cast.viewer), job).content.decode()
    assert f'data-elapsed-from="{int(job.created_at.timestamp())}"' in html


def test_a_job_has_one_label_on_its_card_its_tile_and_its_video_page(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.SUCCEEDED)
    video = make_video(job)
    label = escape(presenters.model_label(job))
    assert " · " in label  # the model and the gateway it ran through
    client = member_client(cast.team, cast.viewer)
    card = _card(client, job).content.decode()
    gallery = client.get("/gallery/").content.decode()
    page = client.get(f"/videos/{video.public_id}/").content.decode()
    for html in (card, gallery, page):
        assert label in html
