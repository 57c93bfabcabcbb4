"""The requests every open page repeats: the page's one poll, and the session
and user each signed-in request loads (Django's own, no hand-written SQL).

Polling is cheap by design: one request per open page per interval, whatever
the number of running jobs, with a query count that does not grow with them.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from studio.models import Job, Status
from studio.views.jobs import MAX_CARDS_PER_POLL
from tests.conftest import Cast
from tests.factories import make_job, make_video, member_client

pytestmark = pytest.mark.django_db

UPDATES = "/jobs/updates/"
POLLER = 'id="job-poller"'
# Session, user, the shown cards' versions (with the user's role); then, when
# some changed, queue places of waiting jobs and the changed cards' rows.
UNCHANGED_POLL_QUERIES = 3
POLL_QUERIES = 5


def _versions(html: str) -> list[str]:
    return [part.split('"')[0] for part in html.split('name="card" value="')[1:]]


def _poll(client: Client, versions: list[str], **extra: str):  # type: ignore[no-untyped-def]
    query = [("card", version) for version in versions] + list(extra.items())
    return client.get(UPDATES, query, HTTP_HX_REQUEST="true")


# Sessions and the signed-in user


def test_studio_uses_djangos_database_sessions_and_model_backend() -> None:
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    # django-axes' backend only counts and refuses sign-ins: it loads no user,
    # so every request's signed-in user still comes from ModelBackend.
    from axes.backends import AxesStandaloneBackend

    assert settings.AUTHENTICATION_BACKENDS == [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    assert not hasattr(AxesStandaloneBackend, "get_user")


def test_an_inactive_user_is_signed_out_on_the_next_request(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    assert client.get("/projects/").status_code == 200
    User.objects.filter(pk=cast.editor.pk).update(is_active=False)
    response = client.get("/projects/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_deleted_user_is_signed_out_on_the_next_request(cast: Cast) -> None:
    client = cast.client_for(cast.viewer)
    assert client.get("/projects/").status_code == 200
    cast.viewer.delete()
    assert client.get("/projects/").status_code == 302


def test_a_password_change_elsewhere_signs_other_sessions_out(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    assert client.get("/projects/").status_code == 200
    cast.editor.set_password("a-brand-new-password-42")
    cast.editor.save()
    assert client.get("/projects/").status_code == 302


def test_a_forged_user_id_in_the_session_signs_out(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    session = client.session
    session[SESSION_KEY] = str(cast.owner.pk)  # the hash is still the editor's
    session.save()
    assert client.get("/projects/").status_code == 302


def test_signing_in_with_the_form_still_works(cast: Cast) -> None:
    cast.editor.set_password("correct-horse-battery")
    cast.editor.save()
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "eddie", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get("/projects/").status_code == 200


# One poll per page


@pytest.mark.parametrize("page", ["project", "queue"])
def test_a_page_with_fifty_running_jobs_has_one_poller_and_no_polling_card(
    cast: Cast, page: str
) -> None:
    for _ in range(50):
        make_job(cast.project, cast.editor, status=Status.RUNNING, progress=10)
    client = member_client(cast.team, cast.viewer)
    url = f"/projects/{cast.project.public_id}/" if page == "project" else "/queue/"
    html = client.get(url).content.decode()
    assert html.count(POLLER) == 1 and html.count('hx-trigger="every') == 1
    assert html.count('class="job-card') == 50 and len(_versions(html)) == 50


def test_the_poll_of_fifty_running_jobs_is_one_request_with_as_few_queries_as_one(
    cast: Cast,
) -> None:
    jobs = [make_job(cast.project, cast.editor, status=Status.RUNNING) for _ in range(50)]
    client = member_client(cast.team, cast.viewer)
    versions = _versions(client.get("/queue/").content.decode())
    _poll(client, versions)
    counts = {}
    for size in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            unchanged = _poll(client, versions[:size])
        assert unchanged.status_code == 204 and unchanged.content == b""
        counts[size] = len(queries)
    assert counts[1] == counts[50] == UNCHANGED_POLL_QUERIES, counts
    Job.objects.filter(pk__in=[job.pk for job in jobs[:25]]).update(progress=60)
    with CaptureQueriesContext(connection) as queries:
        changed = _poll(client, versions)
    html = changed.content.decode()
    assert changed.status_code == 200 and html.count('hx-swap-oob="true"') == 25
    assert len(queries) <= POLL_QUERIES, [q["sql"] for q in queries]


def test_waiting_jobs_get_their_queue_places_in_one_query(cast: Cast) -> None:
    for _ in range(20):
        make_job(cast.project, cast.editor, status=Status.QUEUED)
    client = member_client(cast.team, cast.viewer)
    versions = [v.split(".")[0] + ".old" for v in _versions(client.get("/queue/").content.decode())]
    with CaptureQueriesContext(connection) as queries:
        html = _poll(client, versions).content.decode()
    assert "#20 in the team's queue" in html
    assert len(queries) <= POLL_QUERIES, [q["sql"] for q in queries]


def test_a_finished_job_adds_one_tile_with_a_bounded_number_of_queries(cast: Cast) -> None:
    jobs = [make_job(cast.project, cast.editor, status=Status.RUNNING) for _ in range(10)]
    client = member_client(cast.team, cast.viewer)
    versions = _versions(client.get(f"/projects/{cast.project.public_id}/").content.decode())
    for job in jobs[:3]:
        Job.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED)
        make_video(job)
    with CaptureQueriesContext(connection) as queries:
        response = _poll(client, versions, grid="project-video-grid")
    html = response.content.decode()
    assert response.status_code == 200 and html.count('class="video-tile"') == 3
    assert len(queries) <= POLL_QUERIES + 1, [q["sql"] for q in queries]


def test_the_poller_stops_once_nothing_on_the_page_is_moving(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING)
    client = member_client(cast.team, cast.viewer)
    versions = _versions(client.get("/queue/").content.decode())
    Job.objects.filter(pk=job.pk).update(status=Status.FAILED)
    last = _poll(client, versions)
    assert last.status_code == 286 and f'id="job-{job.public_id}"' in last.content.decode()
    assert _poll(client, []).status_code == 286


def test_a_member_who_leaves_the_team_loses_the_card_at_the_next_poll(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING, prompt_text="Secret")
    client = cast.client_for(cast.viewer)
    stale = [f"{job.public_id}.old"]
    assert "Secret" in _poll(client, stale).content.decode()
    cast.team.memberships.filter(user=cast.viewer).delete()
    gone = _poll(client, stale)
    assert gone.status_code == 286 and b"Secret" not in gone.content


def test_a_polled_cards_forms_post_with_the_pages_csrf_header_as_htmx_does(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT)
    editor = Client(enforce_csrf_checks=True)
    editor.force_login(cast.editor)
    page = editor.get(f"/projects/{cast.project.public_id}/").content.decode()
    header = page.split('hx-headers=\'{"X-CSRFToken": "')[1].split('"')[0]
    assert 'name="csrfmiddlewaretoken"' in page  # forms on the page work without JS
    card = _poll(editor, [f"{job.public_id}.old"]).content.decode()
    assert "Cancel</button>" in card and "csrfmiddlewaretoken" not in card
    url = f"/jobs/{job.public_id}/cancel/"
    assert editor.post(url, HTTP_HX_REQUEST="true").status_code == 403
    response = editor.post(url, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=header)
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == Status.CANCELLED


def test_an_unchanged_poll_is_an_empty_answer_that_varies_on_htmx(cast: Cast) -> None:
    make_job(cast.project, cast.editor, status=Status.RUNNING, progress=5)
    client = member_client(cast.team, cast.editor)
    versions = _versions(client.get("/queue/").content.decode())
    again = _poll(client, versions)
    assert again.status_code == 204 and again.content == b""
    assert "HX-Request" in again["Vary"]


def test_the_poll_of_the_most_cards_it_answers_fits_a_4_kb_request_line(cast: Cast) -> None:
    for _ in range(MAX_CARDS_PER_POLL):
        make_job(cast.project, cast.editor, status=Status.RUNNING)
    client = member_client(cast.team, cast.viewer)
    versions = _versions(client.get("/queue/").content.decode())
    query = urlencode([("card", v) for v in versions] + [("grid", "project-video-grid")])
    request_line = f"GET {UPDATES}?{query} HTTP/1.1"
    assert len(versions) == MAX_CARDS_PER_POLL and len(request_line) <= 4094  # gunicorn's limit
