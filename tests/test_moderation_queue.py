"""The review queue, suspensions, the prompt blocklist and member reports."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from studio.jobs.create import JobRequestError
from studio.models import (
    BlocklistHit,
    BlocklistRule,
    FailReason,
    Job,
    ReferenceImage,
    Report,
    Status,
    Team,
)
from studio.services import creator, moderation
from tests.conftest import Cast
from tests.creator.conftest import _no_broker, fake_providers  # noqa: F401
from tests.factories import make_job, make_output, make_user, member_client, request_job, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db: Any) -> User:
    return make_user("sam", is_staff=True)


def _generate(cast: Cast, user: User, prompt: str = "A red kite over green hills") -> Any:
    return member_client(cast.team, user).post(
        f"/projects/{cast.project.public_id}/generate/",
        {
            "mode": "text2video",
            "provider": "local",
            "model": "draft",
            "prompt": prompt,
            "aspect_ratio": "16:9",
            "duration_seconds": "4",
            "idempotency_key": str(uuid.uuid4()),
        },
        follow=True,
    )


def _action_urls(cast: Cast) -> list[str]:
    video = make_output(cast.project, cast.editor)
    job = make_job(cast.project, cast.editor, status=Status.FAILED)
    hit = BlocklistHit.objects.create(
        team=cast.team, user=cast.editor, prompt_text="x", matched="x"
    )
    return [
        f"/review/videos/{video.public_id}/hide/",
        f"/review/videos/{video.public_id}/restore/",
        f"/review/videos/{video.public_id}/dismiss/",
        f"/review/jobs/{job.public_id}/dismiss/",
        f"/review/hits/{hit.public_id}/dismiss/",
        f"/review/users/{cast.editor.username}/suspend/",
        f"/review/users/{cast.editor.username}/unsuspend/",
        f"/review/teams/{cast.team.public_id}/suspend/",
        f"/review/teams/{cast.team.public_id}/unsuspend/",
        "/review/blocklist/",
        "/review/blocklist/off/",
    ]


# Who may moderate


def test_only_staff_see_the_review_queue(cast: Cast, staff: User) -> None:
    assert Client().get("/review/")["Location"].startswith("/accounts/login/")
    for user in (cast.owner, cast.editor, cast.viewer, cast.outsider):
        assert cast.client_for(user).get("/review/").status_code == 403
    assert cast.client_for(staff).get("/review/").status_code == 200


def test_no_moderation_action_works_for_anyone_but_staff(cast: Cast) -> None:
    urls = _action_urls(cast)
    for url in urls:
        assert Client().post(url)["Location"].startswith("/accounts/login/"), url
        for user in (cast.owner, cast.viewer, cast.outsider):
            assert cast.client_for(user).post(url).status_code == 403, url
    assert not Team.objects.filter(suspended_at__isnull=False).exists()
    assert User.objects.get(pk=cast.editor.pk).is_active
    assert not Job.objects.filter(hidden_at__isnull=False).exists()


def test_moderation_actions_refuse_get(cast: Cast, staff: User) -> None:
    for url in _action_urls(cast):
        assert cast.client_for(staff).get(url).status_code == 405, url


def test_forged_ids_get_404(cast: Cast, staff: User) -> None:
    client = cast.client_for(staff)
    forged = uuid.uuid4()
    for url in (
        f"/review/videos/{forged}/hide/",
        f"/review/jobs/{forged}/dismiss/",
        f"/review/hits/{forged}/dismiss/",
        f"/review/teams/{forged}/suspend/",
        "/review/users/nobody-at-all/suspend/",
    ):
        assert client.post(url).status_code == 404, url
    # A job that was not blocked by a safety filter is not in the queue to dismiss.
    ordinary = make_job(cast.project, cast.editor, status=Status.FAILED)
    assert client.post(f"/review/jobs/{ordinary.public_id}/dismiss/").status_code == 404


def test_the_queue_lists_reports_safety_blocks_and_blocklist_hits(cast: Cast, staff: User) -> None:
    reported = make_output(cast.project, cast.editor, prompt_text="Reported shot")
    creator.report_video(reported, cast.viewer, "Looks like someone's private footage")
    make_job(
        cast.project,
        cast.editor,
        status=Status.FAILED,
        fail_reason=FailReason.CONTENT_FILTERED,
        prompt_text="Blocked upstream prompt",
    )
    BlocklistHit.objects.create(
        team=cast.team, user=cast.editor, prompt_text="A forbidden thing", matched="forbidden"
    )
    page = cast.client_for(staff).get("/review/").content.decode()
    for text in (
        "Reported shot",
        "private footage",
        "Blocked upstream prompt",
        "A forbidden thing",
    ):
        assert text in page
    assert page.count('hx-confirm="') >= 6
    # Each of the three rows offers to suspend its author and its team.
    assert page.count(f'action="/review/users/{cast.editor.username}/suspend/"') == 3
    assert page.count(f'action="/review/teams/{cast.team.public_id}/suspend/"') == 3


def test_dismissing_a_report_resolves_it_once(cast: Cast, staff: User) -> None:
    video = make_output(cast.project, cast.editor)
    creator.report_video(video, cast.viewer, "Spam")
    client = cast.client_for(staff)
    first = client.post(f"/review/videos/{video.public_id}/dismiss/", follow=True)
    second = client.post(f"/review/videos/{video.public_id}/dismiss/", follow=True)
    assert "Reports dismissed." in first.content.decode()
    assert "no open report" in second.content.decode()
    report = Report.objects.get()
    assert report.resolution == "dismissed" and report.resolved_by == staff


def test_hiding_resolves_the_videos_reports(cast: Cast, staff: User) -> None:
    video = make_output(cast.project, cast.editor)
    creator.report_video(video, cast.viewer, "Violent")
    cast.client_for(staff).post(f"/review/videos/{video.public_id}/hide/")
    assert Report.objects.get().resolution == "hidden"


def test_blocked_jobs_and_hits_are_dismissed_once(cast: Cast, staff: User) -> None:
    job = make_job(
        cast.project, cast.editor, status=Status.FAILED, fail_reason=FailReason.CONTENT_FILTERED
    )
    hit = BlocklistHit.objects.create(
        team=cast.team, user=cast.editor, prompt_text="x", matched="x"
    )
    client = cast.client_for(staff)
    for url in (f"/review/jobs/{job.public_id}/dismiss/", f"/review/hits/{hit.public_id}/dismiss/"):
        assert client.post(url).status_code == 302
        again = client.post(url, follow=True)
        assert "already" in again.content.decode()
    page = client.get("/review/").content.decode()
    assert str(job.public_id) not in page and str(hit.public_id) not in page


# Suspensions


def test_a_suspended_team_cannot_generate_upload_or_play_media(cast: Cast, staff: User) -> None:
    video = make_output(cast.project, cast.editor)
    image = ReferenceImage.objects.create(
        team=cast.team, file="x.png", sha256="0" * 64, content_type="image/png",
        width=1, height=1, size_bytes=1,
    )  # fmt: skip
    cast.client_for(staff).post(f"/review/teams/{cast.team.public_id}/suspend/")
    jobs_before = Job.objects.count()

    assert _generate(cast, cast.editor).status_code == 403
    with pytest.raises(JobRequestError, match="suspended"):
        request_job(cast.project, cast.editor)
    client = member_client(cast.team, cast.editor)
    uploaded = client.post("/library/", {"images": [upload("a.png")]})
    assert "suspended" in uploaded.content.decode()
    assert ReferenceImage.objects.count() == 1
    assert client.get(f"/files/videos/{video.public_id}/file").status_code == 403
    assert client.get(f"/files/references/{image.public_id}").status_code == 403
    assert client.post(f"/videos/{video.public_id}/upscale/", {"target": "4k"}).status_code == 403
    assert Job.objects.count() == jobs_before


def test_members_of_a_suspended_team_see_why(cast: Cast, staff: User) -> None:
    moderation.suspend_team(cast.team, staff)
    page = member_client(cast.team, cast.viewer).get("/gallery/").content.decode()
    assert "is suspended by the moderators" in page
    own = member_client(cast.outsider_project.team, cast.outsider).get("/gallery/")
    assert "is suspended" not in own.content.decode()


def test_lifting_a_team_suspension_lets_it_generate_again(cast: Cast, staff: User) -> None:
    client = cast.client_for(staff)
    client.post(f"/review/teams/{cast.team.public_id}/suspend/")
    again = client.post(f"/review/teams/{cast.team.public_id}/suspend/", follow=True)
    assert "suspended already" in again.content.decode()
    client.post(f"/review/teams/{cast.team.public_id}/unsuspend/")
    assert request_job(cast.project, cast.editor).status == Status.DRAFT


def test_a_suspended_user_cannot_sign_in_and_is_told_why(cast: Cast, staff: User) -> None:
    cast.editor.set_password("correct horse battery")
    cast.editor.save()
    signed_in = cast.client_for(cast.editor)
    cast.client_for(staff).post(f"/review/users/{cast.editor.username}/suspend/")

    right = Client().post(
        "/accounts/login/", {"username": "eddie", "password": "correct horse battery"}
    )
    wrong = Client().post("/accounts/login/", {"username": "eddie", "password": "guess"})
    assert right.status_code == 200 and "suspended by the moderators" in right.content.decode()
    assert "suspended" not in wrong.content.decode()  # a stranger learns nothing
    assert signed_in.get("/gallery/")["Location"].startswith("/accounts/login/")


def test_staff_cannot_be_suspended_from_the_queue(cast: Cast, staff: User) -> None:
    other = make_user("stella", is_staff=True)
    response = cast.client_for(staff).post(f"/review/users/{other.username}/suspend/", follow=True)
    assert "Django admin" in response.content.decode()
    assert User.objects.get(pk=other.pk).is_active


# The prompt blocklist


def test_a_blocklisted_word_refuses_the_submit_and_records_a_hit(
    cast: Cast, staff: User, settings: Any
) -> None:
    settings.STUDIO_PROMPT_BLOCKLIST = "gore; /b[a4]nned\\s+thing/"
    response = _generate(cast, cast.editor, "A scene full of GORE at dawn")
    assert "does not accept" in response.content.decode()
    assert not Job.objects.exists()
    hit = BlocklistHit.objects.get()  # kept although the submit was rolled back
    assert hit.matched == "gore" and hit.user == cast.editor and hit.team == cast.team
    _generate(cast, cast.editor, "The b4nned   thing")
    assert BlocklistHit.objects.count() == 2
    _generate(cast, cast.editor, "Gorecki's symphony over a quiet harbour")  # a whole word only
    assert Job.objects.count() == 1
    assert "GORE at dawn" in cast.client_for(staff).get("/review/").content.decode()


def test_staff_add_and_turn_off_blocklist_entries(cast: Cast, staff: User) -> None:
    client = cast.client_for(staff)
    client.post("/review/blocklist/", {"pattern": "kite", "note": "test"})
    with pytest.raises(JobRequestError, match="does not accept"):
        request_job(cast.project, cast.editor, prompt_text="A red kite")
    rule = BlocklistRule.objects.get()
    client.post("/review/blocklist/off/", {"rule": rule.pk})
    again = client.post("/review/blocklist/off/", {"rule": rule.pk}, follow=True)
    assert "off already" in again.content.decode()
    assert request_job(cast.project, cast.editor, prompt_text="A red kite").status == Status.DRAFT


def test_a_bad_or_match_everything_pattern_is_refused(cast: Cast, staff: User) -> None:
    client = cast.client_for(staff)
    bad = client.post("/review/blocklist/", {"pattern": "(unclosed", "is_regex": "on"})
    everything = client.post("/review/blocklist/", {"pattern": ".*", "is_regex": "on"})
    assert "not a valid regular expression" in bad.content.decode()
    assert "matches every prompt" in everything.content.decode()
    assert not BlocklistRule.objects.exists()
    assert client.post("/review/blocklist/off/", {"rule": "x"}).status_code == 302


def test_a_bad_pattern_in_the_setting_does_not_stop_submits(cast: Cast, settings: Any) -> None:
    settings.STUDIO_PROMPT_BLOCKLIST = "/(broken/"
    assert request_job(cast.project, cast.editor).status == Status.DRAFT


# Reports


def test_any_member_may_report_a_video(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    response = member_client(cast.team, cast.viewer).post(
        f"/videos/{video.public_id}/report/", {"reason": "Not ours to use"}, follow=True
    )
    assert "The moderators will look at this video." in response.content.decode()
    assert Report.objects.get().reporter == cast.viewer
    outsider = cast.client_for(cast.outsider)
    assert outsider.post(f"/videos/{video.public_id}/report/", {"reason": "x"}).status_code == 404


def test_a_report_flood_is_refused_with_a_clear_message(cast: Cast, settings: Any) -> None:
    settings.STUDIO_REPORTS_PER_HOUR = 3
    video = make_output(cast.project, cast.editor)
    client = member_client(cast.team, cast.viewer)
    for i in range(3):
        client.post(f"/videos/{video.public_id}/report/", {"reason": f"Report {i}"})
    flood = client.post(f"/videos/{video.public_id}/report/", {"reason": "More"}, follow=True)
    assert flood.status_code == 200
    assert "3 reports in the last hour" in flood.content.decode()
    assert Report.objects.count() == 3
    # Reports older than an hour no longer count; other members have their own limit.
    Report.objects.update(created_at=timezone.now() - timezone.timedelta(hours=2))
    client.post(f"/videos/{video.public_id}/report/", {"reason": "Later"})
    assert Report.objects.count() == 4
