from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.models import Favourite, Job, Status
from tests.conftest import Cast
from tests.factories import make_job, make_output, make_project, make_video, member_client

pytestmark = pytest.mark.django_db


def _titles(response: Any) -> list[str]:
    return [job.prompt_text for job in response.context["page"].items]


def test_team_gallery_lists_finished_videos_newest_first(cast: Cast) -> None:
    for name in ("first", "second", "third"):
        make_output(cast.project, cast.editor, prompt_text=name)
    make_job(cast.project, cast.editor, status=Status.RUNNING, prompt_text="unfinished")
    make_output(cast.outsider_project, cast.outsider, prompt_text="not ours")
    response = member_client(cast.team, cast.viewer).get("/gallery/")
    assert _titles(response) == ["third", "second", "first"]


def test_project_gallery_shows_only_that_project(cast: Cast) -> None:
    other = make_project(cast.team, "Other")
    make_output(cast.project, cast.editor, prompt_text="here")
    make_output(other, cast.editor, prompt_text="there")
    response = cast.client_for(cast.viewer).get(f"/projects/{cast.project.public_id}/gallery/")
    assert _titles(response) == ["here"]
    assert (
        cast.client_for(cast.outsider)
        .get(f"/projects/{cast.project.public_id}/gallery/")
        .status_code
        == 404
    )


def test_filters_by_mode_model_status_creator_project_and_dates(cast: Cast) -> None:
    other = make_project(cast.team, "Other")
    make_output(cast.project, cast.editor, prompt_text="text one")
    make_output(cast.project, cast.owner, prompt_text="frames one", mode="img2video")
    make_output(other, cast.editor, prompt_text="gateway one", provider="gateway", model="veo-fast")
    make_job(cast.project, cast.editor, status=Status.FAILED, prompt_text="failed one")
    old = make_output(cast.project, cast.editor, prompt_text="old one")
    Job.objects.filter(pk=old.job_id).update(created_at=timezone.now() - dt.timedelta(days=30))
    client = member_client(cast.team, cast.viewer)

    def titles(**query: str) -> set[str]:
        return set(_titles(client.get("/gallery/", query)))

    assert titles(mode="img2video") == {"frames one"}
    assert titles(model="gateway:veo-fast") == {"gateway one"}
    assert titles(status="failed") == {"failed one"}
    assert titles(creator="olivia") == {"frames one"}
    assert titles(project=str(other.public_id)) == {"gateway one"}
    week_ago = (timezone.now() - dt.timedelta(days=7)).date().isoformat()
    assert "old one" not in titles(date_from=week_ago)
    assert titles(date_to=week_ago) == {"old one"}
    assert "failed one" in titles(status="all")


def test_search_matches_prompt_text(cast: Cast) -> None:
    make_output(cast.project, cast.editor, prompt_text="A lighthouse at dusk")
    make_output(cast.project, cast.editor, prompt_text="A forest in fog")
    response = member_client(cast.team, cast.viewer).get("/gallery/", {"q": "LIGHTHOUSE"})
    assert _titles(response) == ["A lighthouse at dusk"]


def test_bad_filter_values_are_ignored_not_fatal(cast: Cast) -> None:
    make_output(cast.project, cast.editor, prompt_text="kept")
    response = member_client(cast.team, cast.viewer).get(
        "/gallery/", {"mode": "evil", "project": "nope", "date_from": "yesterday", "after": "x"}
    )
    assert response.status_code == 200 and _titles(response) == ["kept"]


def test_favourites_filter_and_toggle(cast: Cast) -> None:
    liked = make_output(cast.project, cast.editor, prompt_text="liked")
    make_output(cast.project, cast.editor, prompt_text="meh")
    client = member_client(cast.team, cast.viewer)  # viewers keep favourites too
    response = client.post(
        f"/videos/{liked.public_id}/favourite/", {"on": "1"}, HTTP_HX_REQUEST="true"
    )
    assert 'aria-pressed="true"' in response.content.decode()
    client.post(f"/videos/{liked.public_id}/favourite/", {"on": "1"})  # double click
    assert Favourite.objects.filter(user=cast.viewer).count() == 1
    assert _titles(client.get("/gallery/", {"favourites": "on"})) == ["liked"]
    # another member's favourites are their own
    assert (
        _titles(member_client(cast.team, cast.editor).get("/gallery/", {"favourites": "on"})) == []
    )
    client.post(f"/videos/{liked.public_id}/favourite/", {"on": "false", "next": "/gallery/"})
    assert not Favourite.objects.exists()


def test_favourite_of_another_teams_video_is_404(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    response = cast.client_for(cast.outsider).post(
        f"/videos/{video.public_id}/favourite/", {"on": "1"}
    )
    assert response.status_code == 404


def test_hidden_videos_are_left_out_for_members_but_shown_to_staff(cast: Cast) -> None:
    make_output(cast.project, cast.editor, prompt_text="visible")
    make_output(cast.project, cast.editor, prompt_text="hidden", hidden_at=timezone.now())
    assert _titles(member_client(cast.team, cast.owner).get("/gallery/")) == ["visible"]
    cast.owner.is_staff = True
    cast.owner.save()
    assert _titles(member_client(cast.team, cast.owner).get("/gallery/")) == ["hidden", "visible"]


def test_load_more_pages_with_a_cursor_until_the_end(cast: Cast) -> None:
    for n in range(30):
        make_output(cast.project, cast.editor, prompt_text=f"shot {n:02d}")
    client = member_client(cast.team, cast.viewer)
    first = client.get("/gallery/")
    page = first.context["page"]
    assert len(page.items) == 24 and page.next_cursor is not None
    html = first.content.decode()
    assert f"after={page.next_cursor}" in html and "Load more" in html
    more = client.get("/gallery/", {"after": str(page.next_cursor)}, HTTP_HX_REQUEST="true")
    rest = _titles(more)
    assert rest == [f"shot {n:02d}" for n in range(5, -1, -1)]
    assert "Load more" not in more.content.decode()
    assert more.content.decode().lstrip().startswith('<li class="video-tile">')
    # without JavaScript the same link is a plain page
    plain = client.get("/gallery/", {"after": str(page.next_cursor)})
    assert "Back to the newest" in plain.content.decode()


def test_filtering_with_htmx_returns_just_the_results(cast: Cast) -> None:
    make_output(cast.project, cast.editor, prompt_text="a fox")
    response = member_client(cast.team, cast.viewer).get(
        "/gallery/", {"q": "fox"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="gallery-results"')
    assert "a fox" in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_empty_states_explain_what_to_do(cast: Cast) -> None:
    client = member_client(cast.team, cast.viewer)
    assert "No videos yet." in client.get("/gallery/").content.decode()
    assert (
        "Nothing matches these filters." in client.get("/gallery/", {"q": "zzz"}).content.decode()
    )


def test_tiles_have_a_poster_and_a_hover_preview(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    html = member_client(cast.team, cast.viewer).get("/gallery/").content.decode()
    assert f'src="/files/videos/{video.public_id}/thumbnail"' in html
    assert f'data-preview-src="/files/videos/{video.public_id}/file"' in html


def _fill(cast: Cast, count: int) -> None:
    users = [cast.owner, cast.editor]
    for n in range(count):
        job = make_job(cast.project, users[n % 2], prompt_text=f"shot {n}")
        video = make_video(job)
        if n % 3 == 0:
            Favourite.objects.create(user=cast.viewer, video=video)
        if n % 4 == 0:
            child = make_job(cast.project, cast.editor, mode="gif", prompt_text="")
            make_video(child, parent=video, kind="gif")


@pytest.mark.parametrize("query", [{}, {"favourites": "on", "q": "shot"}, {"status": "all"}])
def test_the_gallery_runs_the_same_number_of_queries_for_5_or_50_videos(
    cast: Cast, django_assert_num_queries: Any, query: dict[str, str]
) -> None:
    client = member_client(cast.team, cast.viewer)
    client.get("/gallery/")  # warm the session
    _fill(cast, 5)
    with CaptureQueriesContext(connection) as small:
        client.get("/gallery/", query)
    _fill(cast, 45)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get("/gallery/", query)
    assert response.status_code == 200
    page = response.context["page"]
    assert len(page.items) >= 17  # a full page (only a third of them are favourites)
    html = response.content.decode()
    assert all(job.prompt_text in html for job in page.items)
    # 17 favourites fit on one page; 50 videos and their GIFs do not.
    assert bool(page.next_cursor) == ("favourites" not in query)
    if page.next_cursor:
        with django_assert_num_queries(len(small.captured_queries) + 1):  # + the cursor's row
            following = client.get("/gallery/", {**query, "after": str(page.next_cursor)})
        assert following.status_code == 200 and following.context["page"].items


def test_the_project_gallery_query_count_is_constant_too(
    cast: Cast, django_assert_num_queries: Any
) -> None:
    client = cast.client_for(cast.viewer)
    url = f"/projects/{cast.project.public_id}/gallery/"
    client.get(url)
    _fill(cast, 5)
    with CaptureQueriesContext(connection) as small:
        few = client.get(url)
    assert few.status_code == 200
    assert len(few.context["page"].items) == 7  # 5 videos and 2 GIFs
    assert "shot 4" in few.content.decode()
    _fill(cast, 45)
    with django_assert_num_queries(len(small.captured_queries)):
        many = client.get(url)
    assert many.status_code == 200
    assert len(many.context["page"].items) == 24 and many.context["page"].next_cursor
    assert "shot 44" in many.content.decode()
