"""View-only share links: one video, its poster and its prompt, to anyone with the token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from studio.models import ShareLink, Video
from studio.services import sharing
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(cast: Cast) -> Video:
    return factories.make_output(
        cast.project, cast.owner, real=True, prompt_text="A lighthouse at dusk, slow dolly in"
    )


def _share(cast: Cast, video: Video) -> ShareLink:
    cast.client_for(cast.editor).post(f"/videos/{video.public_id}/share/")
    return ShareLink.objects.get(video=video, revoked_at=None)


def test_an_editor_makes_a_link_that_shows_the_video_and_prompt_without_sign_in(
    cast: Cast, video: Video, client: Client
) -> None:
    link = _share(cast, video)
    assert len(link.token) >= 40
    page = client.get(f"/s/v/{link.token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "A lighthouse at dusk, slow dolly in" in html
    assert f"/s/v/{link.token}/file" in html and f"/s/v/{link.token}/poster" in html
    # Nothing else of the team: no project, team, member names, or member-only URLs.
    for private in ["Launch film", "Acme Films", "olivia", "eddie", str(video.public_id)]:
        assert private not in html
    assert page["X-Robots-Tag"] == "noindex, nofollow"


def test_the_shared_video_plays_with_byte_ranges_and_the_poster_loads(
    cast: Cast, video: Video, client: Client
) -> None:
    link = _share(cast, video)
    part = client.get(f"/s/v/{link.token}/file", HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    video.file.open("rb")
    assert b"".join(part.streaming_content) == video.file.read()[10:20]  # type: ignore[attr-defined]
    video.file.close()
    poster = client.get(f"/s/v/{link.token}/poster")
    assert poster.status_code == 200
    assert poster["Cache-Control"].startswith("private")
    poster.close()
    part.close()


def test_the_editors_video_page_shows_the_link_and_a_second_click_keeps_it(
    cast: Cast, video: Video
) -> None:
    first = _share(cast, video)
    second = _share(cast, video)
    assert first.pk == second.pk
    html = cast.client_for(cast.owner).get(f"/videos/{video.public_id}/").content.decode()
    assert f"/s/v/{first.token}/" in html and "Revoke link" in html


def test_a_revoked_link_stops_working_and_a_new_one_has_a_new_address(
    cast: Cast, video: Video, client: Client
) -> None:
    old = _share(cast, video)
    cast.client_for(cast.editor).post(f"/videos/{video.public_id}/share/revoke/")
    for suffix in ["", "file", "poster"]:
        assert client.get(f"/s/v/{old.token}/{suffix}").status_code == 404
    again = cast.client_for(cast.editor).post(
        f"/videos/{video.public_id}/share/revoke/", follow=True
    )
    assert "already revoked" in again.content.decode()
    new = _share(cast, video)
    assert new.token != old.token
    assert client.get(f"/s/v/{new.token}/").status_code == 200


def test_viewers_and_outsiders_cannot_make_or_revoke_links(cast: Cast, video: Video) -> None:
    _share(cast, video)
    viewer, outsider = cast.client_for(cast.viewer), cast.client_for(cast.outsider)
    assert viewer.post(f"/videos/{video.public_id}/share/revoke/").status_code == 403
    assert outsider.post(f"/videos/{video.public_id}/share/revoke/").status_code == 404
    sharing.revoke_link(video, cast.owner)
    assert viewer.post(f"/videos/{video.public_id}/share/").status_code == 403
    assert outsider.post(f"/videos/{video.public_id}/share/").status_code == 404
    assert not ShareLink.objects.filter(revoked_at=None).exists()
    assert "Create a share link" not in viewer.get(f"/videos/{video.public_id}/").content.decode()


def test_a_link_opens_nothing_but_its_own_video(cast: Cast, video: Video, client: Client) -> None:
    link = _share(cast, video)
    other = factories.make_output(cast.project, cast.owner)
    # The token does not open member URLs, and guessed or malformed tokens are 404.
    assert client.get(f"/files/videos/{other.public_id}/file").status_code == 302
    assert client.get(f"/videos/{video.public_id}/").status_code == 302
    for bad in [link.token[:-1], "x", "a" * 200, str(video.public_id)]:
        assert client.get(f"/s/v/{bad}/").status_code == 404


def test_a_hidden_video_or_a_suspended_team_closes_the_link(
    cast: Cast, video: Video, client: Client
) -> None:
    link = _share(cast, video)
    Video.objects.filter(pk=video.pk).update(hidden_at=timezone.now())
    assert client.get(f"/s/v/{link.token}/file").status_code == 404
    Video.objects.filter(pk=video.pk).update(hidden_at=None)
    cast.team.suspended_at = timezone.now()
    cast.team.save()
    assert client.get(f"/s/v/{link.token}/").status_code == 404
