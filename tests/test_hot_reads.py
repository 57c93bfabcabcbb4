"""The per-request reads written as plain SQL: session, signed-in user, job card.

Each must give exactly what Django's own ORM read gives, and refuse exactly
what it refuses; the speed they buy is measured in benchmarks/bench_web.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import Http404
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio import db
from studio.auth import ModelBackend
from studio.models import Job, Mode, Status, VideoKind
from studio.sessions import SessionStore
from studio.views.lookups import CARD_JOB_FIELDS, get_job_card_for_member, get_job_for_member
from tests import factories
from tests.conftest import Cast
from tests.creator.builders import make_job, make_video

pytestmark = pytest.mark.django_db


def _request(user: User) -> Any:
    request = RequestFactory().get("/")
    request.user = user
    return request


# Sessions


def test_studio_uses_its_session_store_and_model_backend() -> None:
    assert settings.SESSION_ENGINE == "studio.sessions"
    assert settings.AUTHENTICATION_BACKENDS == ["studio.auth.ModelBackend"]


def test_a_session_written_by_django_reads_back_the_same() -> None:
    written = DjangoSessionStore()
    written["colour"] = "teal"
    written["numbers"] = [1, 2, 3]
    written.create()
    assert SessionStore(written.session_key).load() == {"colour": "teal", "numbers": [1, 2, 3]}


def test_an_expired_session_reads_as_empty_and_forgets_its_key() -> None:
    store = SessionStore()
    store["colour"] = "teal"
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    again = SessionStore(store.session_key)
    assert again.load() == {}
    assert again.session_key is None


@pytest.mark.parametrize("key", ["nosuchsessionkey0000000000000000", "short", None])
def test_unknown_short_or_missing_session_keys_read_as_empty(key: str | None) -> None:
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None


def test_tampered_session_data_reads_as_empty() -> None:
    store = SessionStore()
    store["colour"] = "teal"
    store.create()
    Session.objects.filter(session_key=store.session_key).update(session_data="x" * 40)
    assert SessionStore(store.session_key).load() == {}


def test_the_session_store_still_saves_and_flushes() -> None:
    store = SessionStore()
    store["step"] = 1
    store.save()
    store["step"] = 2
    store.save()
    assert SessionStore(store.session_key).load() == {"step": 2}
    key = store.session_key
    store.flush()
    assert not Session.objects.filter(session_key=key).exists()


# The signed-in user


def test_the_user_loaded_per_request_equals_the_orm_user() -> None:
    user = factories.make_user("ursula", email="u@example.com", is_staff=True)
    user.last_login = timezone.now()
    user.save()
    loaded = ModelBackend().get_user(user.pk)
    fresh = User.objects.get(pk=user.pk)
    assert loaded is not None
    for field in User._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(fresh, field.attname), field.name
    assert loaded.is_staff is True and loaded.is_superuser is False
    assert loaded.last_login is not None and loaded.last_login.tzinfo is not None
    assert loaded._state.adding is False and loaded._state.db == "default"


@pytest.mark.parametrize("user_id", [987654, "not-a-number", None, ""])
def test_unknown_or_malformed_user_ids_load_no_user(user_id: Any) -> None:
    assert ModelBackend().get_user(user_id) is None


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


# The job card


def _same_card_job(fast: Job, orm: Job) -> None:
    for name in CARD_JOB_FIELDS:
        assert getattr(fast, name) == getattr(orm, name), name
    assert fast.my_role == orm.my_role  # type: ignore[attr-defined]
    fast_video, orm_video = getattr(fast, "video", None), getattr(orm, "video", None)
    assert (fast_video is None) == (orm_video is None)
    if fast_video is not None and orm_video is not None:
        assert (fast_video.pk, fast_video.public_id, fast_video.kind) == (
            orm_video.pk,
            orm_video.public_id,
            orm_video.kind,
        )
    if orm.created_by is None:
        assert fast.created_by is None
    else:
        assert fast.created_by is not None
        assert fast.created_by.get_username() == orm.created_by.get_username()


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_the_card_read_returns_what_the_orm_read_returns(cast: Cast, who: str) -> None:
    user = getattr(cast, who)
    running = make_job(cast.project, cast.editor, status=Status.RUNNING, progress=37)
    failed = make_job(
        cast.project,
        cast.owner,
        status=Status.FAILED,
        fail_reason="provider",
        error_message="The gateway said no.",
        cost_credits=20,
    )
    done = make_job(cast.project, None, status=Status.SUCCEEDED)
    video = make_video(done)
    gif = make_job(cast.project, cast.viewer, mode=Mode.GIF, prompt_text="", source_video=video)
    make_video(gif, kind=VideoKind.GIF, parent=video)
    for job in (running, failed, done, gif):
        fast = get_job_card_for_member(_request(user), job.public_id)
        orm = get_job_for_member(_request(user), job.public_id)
        _same_card_job(fast, orm)


def test_the_card_read_takes_one_query_and_loads_nothing_on_demand(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.SUCCEEDED)
    make_video(job)
    request = _request(cast.viewer)
    with CaptureQueriesContext(connection) as queries:
        fast = get_job_card_for_member(request, job.public_id)
        assert fast.video.public_id and fast.video.kind  # type: ignore[union-attr]
        assert fast.created_by is not None and fast.created_by.get_username() == "eddie"
        assert fast.created_at.tzinfo is not None and fast.status == Status.SUCCEEDED
    assert len(queries) == 1


def test_the_card_read_refuses_outsiders_and_unknown_ids(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING)
    with pytest.raises(Http404):
        get_job_card_for_member(_request(cast.outsider), job.public_id)
    with pytest.raises(Http404):
        get_job_card_for_member(_request(cast.owner), uuid.uuid4())


def test_a_member_who_leaves_the_team_loses_the_card_at_the_next_poll(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING)
    client = cast.client_for(cast.viewer)
    url = f"/jobs/{job.public_id}/card/"
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    cast.team.memberships.filter(user=cast.viewer).delete()
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_a_card_poll_costs_three_queries_session_user_and_card(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING, progress=10)
    client = cast.client_for(cast.editor)
    url = f"/jobs/{job.public_id}/card/"
    client.get(url, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert len(queries) == 3, [q["sql"] for q in queries]


# The converting helper


def test_fetch_row_converts_columns_as_the_orm_does(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING)
    fields = [db.field(Job, "public_id"), db.field(Job, "created_at"), db.field(Job, "params")]
    sql = (
        f"SELECT {db.column(Job, 'public_id')}, {db.column(Job, 'created_at')}, "
        f"{db.column(Job, 'params')} FROM {db.table(Job)} WHERE {db.column(Job, 'id')} = %s"
    )
    row = db.fetch_row(sql, [job.pk], fields)
    orm = Job.objects.values_list("public_id", "created_at", "params").get(pk=job.pk)
    assert row == list(orm)
    assert isinstance(row[0], uuid.UUID) and row[1].tzinfo is not None  # type: ignore[index]
    assert db.fetch_row(sql, [-1], fields) is None


def test_partial_instance_refuses_names_that_are_not_columns() -> None:
    with pytest.raises(ValueError, match="not columns"):
        db.partial_instance(Job, "default", {"id": 1, "nonsense": 2})


def test_a_polled_cards_forms_post_with_the_pages_csrf_header_as_htmx_does(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT)
    editor = Client(enforce_csrf_checks=True)
    editor.force_login(cast.editor)
    page = editor.get(f"/projects/{cast.project.public_id}/").content.decode()
    header = page.split('hx-headers=\'{"X-CSRFToken": "')[1].split('"')[0]
    assert 'name="csrfmiddlewaretoken"' in page  # forms on the page work without JS
    card = editor.get(f"/jobs/{job.public_id}/card/", HTTP_HX_REQUEST="true").content.decode()
    assert "Cancel</button>" in card and "csrfmiddlewaretoken" not in card
    url = f"/jobs/{job.public_id}/cancel/"
    assert editor.post(url, HTTP_HX_REQUEST="true").status_code == 403
    response = editor.post(url, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=header)
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == Status.CANCELLED


def test_an_unchanged_card_answers_304_with_its_caching_headers(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.RUNNING, progress=5)
    client = cast.client_for(cast.editor)
    url = f"/jobs/{job.public_id}/card/"
    first = client.get(url, HTTP_HX_REQUEST="true")
    again = client.get(url, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == first["Cache-Control"] == "private, no-cache"
    assert "HX-Request" in again["Vary"]
