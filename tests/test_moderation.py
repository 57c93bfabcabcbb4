"""Moderation that holds: hiding follows the whole lineage and nothing can copy hidden content."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.jobs.create import JobRequestError, create_job
from studio.models import Job, JobInput, Mode, ReferenceImage, Status, Video
from studio.services import moderation
from tests.conftest import Cast
from tests.creator.conftest import _no_broker, fake_providers  # noqa: F401
from tests.factories import add_member, make_job, make_output, make_user, make_video, member_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db: Any) -> Any:
    return make_user("sam", is_staff=True)


def _media_urls(video: Video) -> list[str]:
    base = f"/files/videos/{video.public_id}"
    return [f"{base}/file", f"{base}/poster", f"{base}/thumbnail"]


def _status(client: Any, url: str) -> int:
    # Read the whole body: the test client closes a streamed file at its end.
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    return int(response.status_code)


def _child(video: Video, mode: str, **job_fields: Any) -> Video:
    job = make_job(
        video.project, video.created_by, mode=mode, source_video=video, prompt_text="", **job_fields
    )
    return make_video(job, parent=video, kind="gif" if mode == Mode.GIF else "video")


def _hide(cast: Cast, staff: Any, video: Video) -> Any:
    return cast.client_for(staff).post(f"/review/videos/{video.public_id}/hide/", follow=True)


def test_a_hidden_videos_upscale_gif_and_removal_children_answer_404_to_members(
    cast: Cast, staff: Any
) -> None:
    video = make_output(cast.project, cast.editor)
    children = [_child(video, mode) for mode in (Mode.UPSCALE, Mode.GIF, Mode.REMOVAL)]
    grandchild = _child(children[0], Mode.GIF)
    member = member_client(cast.team, cast.owner)
    assert _status(member, _media_urls(children[0])[0]) == 200

    _hide(cast, staff, video)

    for item in [video, *children, grandchild]:
        for url in _media_urls(item):
            assert member.get(url).status_code == 404, url
        assert _status(cast.client_for(staff), _media_urls(item)[0]) == 200


def test_run_again_on_a_child_of_a_hidden_video_makes_no_copy(cast: Cast, staff: Any) -> None:
    video = make_output(cast.project, cast.editor)
    upscale = _child(video, Mode.UPSCALE, params={"target": "1080p"})
    failed_gif = make_job(
        cast.project, cast.editor, mode=Mode.GIF, source_video=video, status=Status.FAILED
    )
    _hide(cast, staff, video)
    client = member_client(cast.team, cast.editor)
    jobs_before = Job.objects.count()

    rerun = client.post(f"/videos/{upscale.public_id}/rerun/", {"idempotency_key": uuid.uuid4()})
    retry = client.post(f"/jobs/{failed_gif.public_id}/retry/", follow=True)
    rerun_root = client.post(f"/videos/{video.public_id}/rerun/")

    assert rerun.status_code == 403 and rerun_root.status_code == 403
    assert retry.status_code == 200
    assert "hidden by the moderators" in retry.content.decode()
    assert Job.objects.count() == jobs_before


def test_the_job_service_refuses_to_copy_from_a_hidden_video_whatever_the_path(
    cast: Cast, staff: Any
) -> None:
    video = make_output(cast.project, cast.editor)
    moderation.hide_video(video, staff)
    video.refresh_from_db()
    with pytest.raises(JobRequestError, match="hidden by the moderators"):
        create_job(
            project=cast.project,
            user=cast.editor,
            provider="local",
            model="draft",
            mode=Mode.UPSCALE,
            params={"target": "1080p"},
            source_video=video,
        )
    with pytest.raises(JobRequestError, match="hidden by the moderators"):
        create_job(
            project=cast.project,
            user=cast.editor,
            provider="local",
            model="draft",
            mode=Mode.TEXT2VIDEO,
            prompt_text=video.job.prompt_text,  # type: ignore[union-attr]
            params={"aspect_ratio": "16:9", "duration_seconds": 4},
            rerun_of=video.job,
        )


def test_a_rerun_made_before_the_hiding_is_hidden_with_its_original(cast: Cast, staff: Any) -> None:
    video = make_output(cast.project, cast.editor, prompt_text="Same again")
    client = member_client(cast.team, cast.editor)
    client.post(f"/videos/{video.public_id}/rerun/", {"idempotency_key": uuid.uuid4()})
    rerun_job = Job.objects.get(rerun_of=video.job)
    Job.objects.filter(pk=rerun_job.pk).update(status=Status.FAILED)
    # A retry of the failed re-run is a re-run too.
    retried = create_job(
        project=cast.project,
        user=cast.editor,
        provider="local",
        model="draft",
        mode=Mode.TEXT2VIDEO,
        prompt_text="Same again",
        params=dict(rerun_job.params),
        rerun_of=rerun_job,
    )
    Job.objects.filter(pk=retried.pk).update(status=Status.SUCCEEDED)
    rerun_video = make_video(Job.objects.get(pk=retried.pk))

    _hide(cast, staff, video)

    assert _status(client, _media_urls(rerun_video)[0]) == 404
    assert Job.objects.get(pk=retried.pk).hidden_at is not None


def test_shots_made_from_a_frame_of_a_hidden_video_are_hidden_and_the_frame_unusable(
    cast: Cast, staff: Any
) -> None:
    video = make_output(cast.project, cast.editor, real=True)
    client = member_client(cast.team, cast.editor)
    client.post(f"/videos/{video.public_id}/frame/", {"at": "0.5", "then": "library"})
    frame = ReferenceImage.objects.get()
    assert frame.source_video == video
    shot_job = make_job(cast.project, cast.editor, mode=Mode.IMG2VIDEO)
    JobInput.objects.create(job=shot_job, image=frame, position=0, role="start", sha256="x")
    shot = make_video(shot_job)
    assert _status(client, f"/files/references/{frame.public_id}") == 200

    _hide(cast, staff, video)

    assert _status(client, _media_urls(shot)[0]) == 404
    assert _status(client, f"/files/references/{frame.public_id}") == 404
    assert _status(client, f"/files/references/{frame.public_id}/thumb") == 404
    with pytest.raises(JobRequestError, match="frame of a video the moderators hid"):
        create_job(
            project=cast.project,
            user=cast.editor,
            provider="local",
            model="draft",
            mode=Mode.IMG2VIDEO,
            prompt_text="From that frame",
            params={"aspect_ratio": "16:9", "duration_seconds": 4},
            images=[(frame, "start")],
        )


def test_a_frame_with_the_same_pixels_as_an_earlier_upload_records_its_origin(
    cast: Cast,
) -> None:
    from studio.services import library

    video = make_output(cast.project, cast.editor, real=True)
    first = library.frame_to_reference(video, 0.5, cast.editor).image
    ReferenceImage.objects.filter(pk=first.pk).update(source_video=None)  # as an upload would be
    again = library.frame_to_reference(video, 0.5, cast.editor)
    assert not again.created
    assert ReferenceImage.objects.get(pk=first.pk).source_video == video


def test_a_job_still_running_when_its_source_is_hidden_stores_its_video_hidden(
    cast: Cast, staff: Any, tmp_path: Any
) -> None:
    from studio.jobs.results import store_result
    from tests.factories import clip_bytes

    video = make_output(cast.project, cast.editor)
    running = make_job(
        cast.project, cast.editor, mode=Mode.UPSCALE, source_video=video, status=Status.RUNNING
    )
    moderation.hide_video(video, staff)
    src = tmp_path / "out.mp4"
    src.write_bytes(clip_bytes())
    stored = store_result(running, src, content_type="video/mp4")
    assert stored is not None and stored.hidden_at is not None
    assert stored.hidden_root_id == video.pk


def test_a_hidden_video_and_its_children_leave_every_gallery_and_queue(
    cast: Cast, staff: Any
) -> None:
    video = make_output(cast.project, cast.editor, prompt_text="Forbidden shot")
    _child(video, Mode.UPSCALE)
    running = make_job(
        cast.project,
        cast.editor,
        mode=Mode.GIF,
        source_video=video,
        status=Status.RUNNING,
        prompt_text="Forbidden gif",
    )
    make_output(cast.project, cast.editor, prompt_text="Fine shot")
    _hide(cast, staff, video)
    client = member_client(cast.team, cast.viewer)
    gallery = client.get("/gallery/").content.decode()
    assert "Fine shot" in gallery
    assert str(video.public_id) not in gallery
    assert Job.objects.get(pk=running.pk).hidden_at is not None
    for url in ("/gallery/?status=all", "/queue/", f"/projects/{cast.project.public_id}/"):
        page = client.get(url).content.decode()
        assert "Forbidden" not in page, url


def _gallery_queries(client: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/gallery/?status=all").status_code == 200
    return len(ctx.captured_queries)


def test_the_gallery_query_count_does_not_grow_with_hidden_videos(cast: Cast, staff: Any) -> None:
    for i in range(3):
        make_output(cast.project, cast.editor, prompt_text=f"Shot {i}")
    client = member_client(cast.team, cast.viewer)
    before = _gallery_queries(client)
    for _ in range(4):
        video = make_output(cast.project, cast.editor)
        _child(video, Mode.GIF)
        moderation.hide_video(video, staff)
    assert _gallery_queries(client) == before


def test_hiding_twice_says_so_and_changes_nothing(cast: Cast, staff: Any) -> None:
    video = make_output(cast.project, cast.editor)
    _hide(cast, staff, video)
    hidden_at = Video.objects.get(pk=video.pk).hidden_at
    second = _hide(cast, staff, video)
    assert second.status_code == 200
    assert "This video is already hidden." in second.content.decode()
    assert Video.objects.get(pk=video.pk).hidden_at == hidden_at
    with pytest.raises(moderation.ModerationError):
        moderation.hide_video(video, staff)


def test_restoring_brings_the_lineage_back_but_keeps_what_another_hidden_video_withholds(
    cast: Cast, staff: Any
) -> None:
    video = make_output(cast.project, cast.editor)
    child = _child(video, Mode.UPSCALE)
    other = make_output(cast.project, cast.editor)
    mixed_job = make_job(cast.project, cast.editor, mode=Mode.GIF, source_video=other)
    mixed = make_video(mixed_job, parent=child, kind="gif")  # made from both
    moderation.hide_video(video, staff)
    moderation.hide_video(other, staff)
    client = cast.client_for(staff)

    response = client.post(f"/review/videos/{video.public_id}/restore/", follow=True)
    assert "Video restored." in response.content.decode()

    assert Video.objects.get(pk=video.pk).hidden_at is None
    assert Video.objects.get(pk=child.pk).hidden_at is None
    assert Video.objects.get(pk=mixed.pk).hidden_at is not None
    again = client.post(f"/review/videos/{video.public_id}/restore/", follow=True)
    assert "This video is not hidden." in again.content.decode()
    derived = client.post(f"/review/videos/{mixed.public_id}/restore/", follow=True)
    assert "restore that one" in derived.content.decode()


def test_hidden_children_leave_the_lineage_on_a_visible_parents_page(
    cast: Cast, staff: Any
) -> None:
    video = make_output(cast.project, cast.editor)
    child = _child(video, Mode.UPSCALE)
    moderation.hide_video(child, staff)
    page = member_client(cast.team, cast.editor).get(f"/videos/{video.public_id}/")
    assert page.status_code == 200
    assert str(child.public_id) not in page.content.decode()
    add_member(cast.team, staff, "viewer")
    staff_page = cast.client_for(staff).get(f"/videos/{video.public_id}/")
    assert str(child.public_id) in staff_page.content.decode()


def test_media_is_cached_privately_and_briefly(cast: Cast, settings: Any) -> None:
    video = make_output(cast.project, cast.editor)
    client = member_client(cast.team, cast.viewer)
    for url in _media_urls(video):
        assert _cache_control(client, url) == "private, max-age=300"
    settings.STUDIO_MEDIA_MAX_AGE = 30
    assert _cache_control(client, _media_urls(video)[0]) == "private, max-age=30"


def _cache_control(client: Any, url: str) -> str:
    response = client.get(url)
    b"".join(response.streaming_content) if response.streaming else response.content
    return str(response["Cache-Control"])


def test_a_job_hidden_while_it_ran_adds_no_tile_to_an_open_project_page(
    cast: Cast, staff: Any
) -> None:
    video = make_output(cast.project, cast.editor)
    running = make_job(
        cast.project, cast.editor, mode=Mode.GIF, source_video=video, status=Status.RUNNING
    )
    client = member_client(cast.team, cast.viewer)
    page = client.get(f"/projects/{cast.project.public_id}/").content.decode()
    versions = [part.split('"')[0] for part in page.split('name="card" value="')[1:]]
    assert versions
    moderation.hide_video(video, staff)
    Job.objects.filter(pk=running.pk).update(status=Status.SUCCEEDED)
    make_video(Job.objects.get(pk=running.pk), parent=video, kind="gif", hidden_at=timezone.now())
    query = [("card", v) for v in versions] + [("grid", "project-video-grid")]
    response = client.get("/jobs/updates/", query, HTTP_HX_REQUEST="true")
    assert 'class="video-tile"' not in response.content.decode()
