"""The audit trail: what is recorded, who may read it, and that it cannot be changed."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from studio.models import AuditEvent, Invitation, Membership, Role, Status
from studio.services import audit, moderation
from tests.conftest import Cast
from tests.creator.conftest import _no_broker, fake_providers  # noqa: F401
from tests.factories import make_job, make_output, make_user, member_client, request_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db: Any) -> User:
    return make_user("sam", is_staff=True)


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# Append-only


def test_an_audit_event_refuses_to_be_saved_again_or_deleted(cast: Cast) -> None:
    event = audit.record(cast.owner, "test.action", cast.team)
    event.action = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.get().action == "test.action"


def test_the_audit_page_has_no_way_to_change_anything(cast: Cast) -> None:
    audit.record(cast.owner, "test.action", cast.team)
    client = cast.client_for(make_user("root", is_staff=True, is_superuser=True))
    assert client.post("/audit/").status_code == 405
    assert client.get("/admin/studio/auditevent/").status_code == 200
    event = AuditEvent.objects.get()
    assert client.get(f"/admin/studio/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/studio/auditevent/add/").status_code == 403
    client.post(f"/admin/studio/auditevent/{event.pk}/change/", {"action": "x"})
    assert AuditEvent.objects.get().action == "test.action"


# What is recorded


def test_moderation_actions_are_recorded_with_actor_address_and_public_id(
    cast: Cast, staff: User
) -> None:
    video = make_output(cast.project, cast.editor)
    client = cast.client_for(staff)
    client.post(f"/review/videos/{video.public_id}/hide/", REMOTE_ADDR="203.0.113.9")
    client.post(f"/review/teams/{cast.team.public_id}/suspend/")
    client.post(f"/review/users/{cast.editor.username}/suspend/")
    hide = AuditEvent.objects.get(action="video.hide")
    assert hide.actor == staff and hide.actor_name == "sam"
    assert hide.object_type == "video" and hide.object_id == str(video.public_id)
    assert hide.team == cast.team and hide.client_address == "203.0.113.9"
    assert AuditEvent.objects.get(action="team.suspend").object_id == str(cast.team.public_id)
    assert AuditEvent.objects.get(action="user.suspend").object_id == "eddie"


def test_a_refused_moderation_action_records_nothing(cast: Cast, staff: User) -> None:
    video = make_output(cast.project, cast.editor)
    moderation.hide_video(video, staff)
    with pytest.raises(moderation.ModerationError):
        moderation.hide_video(video, staff)
    assert AuditEvent.objects.filter(action="video.hide").count() == 1


def test_reports_and_blocklist_hits_are_recorded(cast: Cast, settings: Any) -> None:
    settings.STUDIO_PROMPT_BLOCKLIST = "forbidden"
    video = make_output(cast.project, cast.editor)
    member_client(cast.team, cast.viewer).post(
        f"/videos/{video.public_id}/report/", {"reason": "Not ours"}
    )
    with pytest.raises(Exception, match="does not accept"):
        request_job(cast.project, cast.editor, prompt_text="A forbidden shot")
    report = AuditEvent.objects.get(action="video.report")
    assert report.actor == cast.viewer and report.details["reason"] == "Not ours"
    hit = AuditEvent.objects.get(action="blocklist.hit")
    assert hit.team == cast.team and hit.details["matched"] == "forbidden"


def test_job_creation_and_job_actions_are_recorded(cast: Cast) -> None:
    job = request_job(cast.project, cast.editor)
    created = AuditEvent.objects.get(action="job.create")
    assert created.object_id == str(job.public_id) and created.actor == cast.editor
    client = member_client(cast.team, cast.editor)
    client.post(f"/jobs/{job.public_id}/cancel/")
    stuck = make_job(cast.project, cast.editor, status=Status.NEEDS_ATTENTION)
    client.post(f"/jobs/{stuck.public_id}/mark-failed/")
    cancel = AuditEvent.objects.get(action="job.cancel")
    assert cancel.object_id == str(job.public_id) and cancel.client_address == "127.0.0.1"
    assert AuditEvent.objects.get(action="job.mark_failed").object_id == str(stuck.public_id)
    # A refused action (cancelling a cancelled job) is not an event.
    client.post(f"/jobs/{job.public_id}/cancel/")
    assert AuditEvent.objects.filter(action="job.cancel").count() == 1


def test_membership_changes_are_recorded(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    newcomer = make_user("nina")
    team = cast.team.public_id
    client.post(f"/teams/{team}/invitations/", {"who": "nina", "role": Role.VIEWER})
    invitation = Invitation.objects.get(team=cast.team)
    cast.client_for(newcomer).post(f"/invitations/{invitation.token}/accept/")
    membership = Membership.objects.get(user=newcomer, team=cast.team)
    client.post(f"/teams/{team}/members/{membership.public_id}/role/", {"role": Role.EDITOR})
    client.post(f"/teams/{team}/members/{membership.public_id}/remove/")
    events = list(AuditEvent.objects.filter(team=cast.team).order_by("id"))
    assert [e.action for e in events] == [
        "invitation.create",
        "invitation.accept",
        "member.role",
        "member.remove",
    ]
    created, accepted, *changes = events
    assert created.actor == cast.owner and created.details["invited"] == "nina"
    assert accepted.actor == newcomer and accepted.object_id == str(invitation.public_id)
    assert all(e.details["member"] == "nina" and e.actor == cast.owner for e in changes)


def test_a_failed_sign_in_is_recorded_without_the_password(cast: Cast) -> None:
    Client().post(
        "/accounts/login/",
        {"username": "eddie", "password": "wrong-secret"},
        REMOTE_ADDR="198.51.100.4",
    )
    event = AuditEvent.objects.get(action="signin.failed")
    assert event.details == {"username": "eddie"} and event.actor is None
    assert event.client_address == "198.51.100.4"
    assert "wrong-secret" not in str(event.details)


# Who reads it


def test_owners_read_their_teams_events_only(cast: Cast) -> None:
    audit.record(cast.owner, "mine.action", cast.team)
    audit.record(cast.outsider, "their.action", cast.outsider_project.team)
    page = cast.client_for(cast.owner).get("/audit/").content.decode()
    assert "mine.action" in page and "their.action" not in page


def test_editors_viewers_and_anonymous_cannot_read_the_audit_trail(cast: Cast) -> None:
    # Everyone owns their personal team; in the shared team the owner alone reads its events.
    audit.record(cast.owner, "shared.action", cast.team)
    for user in (cast.editor, cast.viewer):
        page = cast.client_for(user).get("/audit/").content.decode()
        assert "shared.action" not in page
    Membership.objects.filter(user=cast.viewer, team__personal=True).delete()
    assert cast.client_for(cast.viewer).get("/audit/").status_code == 403
    assert Client().get("/audit/")["Location"].startswith("/accounts/login/")


def test_staff_read_every_teams_events(cast: Cast, staff: User) -> None:
    audit.record(cast.owner, "mine.action", cast.team)
    audit.record(cast.outsider, "their.action", cast.outsider_project.team)
    page = cast.client_for(staff).get("/audit/").content.decode()
    assert "mine.action" in page and "their.action" in page


def test_the_audit_trail_filters_by_action_actor_and_dates(cast: Cast) -> None:
    audit.record(cast.owner, "a.one", cast.team)
    audit.record(cast.editor, "a.two", cast.team)
    old = audit.record(cast.owner, "a.old", cast.team)
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    client = cast.client_for(cast.owner)
    by_action = client.get("/audit/", {"action": "a.two"}).content.decode()
    assert "a.two" in by_action and "a.one" not in by_action
    by_actor = client.get("/audit/", {"actor": "olivia"}).content.decode()
    assert "a.one" in by_actor and "a.two" not in by_actor
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    recent = client.get("/audit/", {"date_from": since}).content.decode()
    assert "a.one" in recent and "a.old" not in recent


def test_bad_filter_input_gets_a_message_not_a_500(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    backwards = client.get("/audit/", {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert backwards.status_code == 200
    assert "before the start date" in backwards.content.decode()
    assert client.get("/audit/", {"date_from": "yesterday", "page": "-4"}).status_code == 200


def test_the_audit_trail_exports_as_csv_with_the_filter_applied(cast: Cast) -> None:
    audit.record(cast.owner, "a.one", cast.team, note='=HYPERLINK("x")')
    audit.record(cast.owner, "a.two", cast.team)
    audit.record(cast.outsider, "their.action", cast.outsider_project.team)
    response = cast.client_for(cast.owner).get("/audit/", {"format": "csv", "action": "a.one"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == audit.CSV_COLUMNS
    assert [row[2] for row in rows[1:]] == ["a.one"]
    assert rows[1][1] == "olivia" and rows[1][4] == str(cast.team.public_id)
    everything = _csv(cast.client_for(cast.owner).get("/audit/", {"format": "csv"}))
    assert "their.action" not in {row[2] for row in everything}


def test_a_csv_cell_that_starts_like_a_formula_is_defused(cast: Cast) -> None:
    make_user("=cmd")
    event = audit.record(User.objects.get(username="=cmd"), "a.one", cast.team)
    rows = list(csv.reader(io.StringIO("".join(audit.to_csv([event])))))
    assert rows[1][1] == "'=cmd"


def test_invitations_share_links_and_lockouts_are_recorded(cast: Cast, settings: Any) -> None:
    owner = cast.client_for(cast.owner)
    team = cast.team.public_id
    owner.post(f"/teams/{team}/invitations/", {"who": "pat@example.com", "role": Role.VIEWER})
    invitation = Invitation.objects.get(team=cast.team)
    owner.post(f"/teams/{team}/invitations/{invitation.public_id}/revoke/")
    video = make_output(cast.project, cast.owner)
    owner.post(f"/videos/{video.public_id}/share/")
    owner.post(f"/videos/{video.public_id}/share/revoke/")
    cast.client_for(cast.viewer).post(f"/teams/{team}/leave/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/accounts/login/", {"username": "olivia", "password": "wrong"})
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "invitation.create",
        "invitation.revoke",
        "share.create",
        "share.revoke",
        "member.leave",
        "signin.lockout",
    } <= actions
    lockout = AuditEvent.objects.get(action="signin.lockout")
    assert lockout.details["username"] == "olivia" and lockout.client_address == "127.0.0.1"


def test_a_budget_change_is_recorded_with_its_settings(cast: Cast) -> None:
    budget = {"kind": "balance", "amount": "500", "member_monthly_limit": "", "max_in_flight": "3"}
    response = cast.client_for(cast.owner).post(
        f"/teams/{cast.team.public_id}/ledger/budget/", budget
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="budget.save")
    assert event.actor == cast.owner and event.team == cast.team
    assert event.details["amount"] == 500 and event.details["max_in_flight"] == 3


def test_behind_the_proxy_the_audit_trail_records_the_client_not_the_proxy(
    cast: Cast, settings: Any
) -> None:
    settings.STUDIO_BEHIND_PROXY = True
    Client().post(
        "/accounts/login/",
        {"username": "eddie", "password": "wrong-secret"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.66, 203.0.113.7",
    )
    # The last hop is the one our proxy appended; the first is whatever the client sent.
    event = AuditEvent.objects.get(action="signin.failed")
    assert event.client_address == "203.0.113.7"
