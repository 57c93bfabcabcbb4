from __future__ import annotations

import html
import uuid
from typing import Any

import pytest
from django.utils import timezone

from studio.models import Job, ReferenceImage, Report, Status
from tests.conftest import Cast
from tests.factories import image_bytes, make_job, make_output, make_video, member_client, upload

pytestmark = pytest.mark.django_db


def _page(client: Any, video: Any) -> str:
    response = client.get(f"/videos/{video.public_id}/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_members_see_the_player_download_and_full_recall(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor, mode="img2video", prompt_text="A tide pool")
    job = video.job
    from studio.services import library

    ref = library.store_upload(cast.team, None, upload("s.png", image_bytes()).file, "s.png").image
    job.inputs.create(image=ref, position=0, role="start", sha256=ref.sha256)
    page = _page(cast.client_for(cast.viewer), video)
    assert f'<source src="/files/videos/{video.public_id}/file" type="video/mp4">' in page
    assert f'poster="/files/videos/{video.public_id}/poster"' in page
    assert f"/files/videos/{video.public_id}/file?download=1" in page
    for text in ("Frames to video", "Local engine", "Draft", "16:9", "A tide pool", "Start frame"):
        assert text in page, text
    assert f"/files/references/{ref.public_id}/thumb" in page
    assert "Next steps" not in page  # viewers only watch
    assert "Report this video" in page


def test_outsider_gets_404_for_the_video_page_and_every_action(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    outsider = cast.client_for(cast.outsider)
    assert outsider.get(f"/videos/{video.public_id}/").status_code == 404
    for action in ("rerun", "frame", "upscale", "gif", "report", "favourite"):
        assert outsider.post(f"/videos/{video.public_id}/{action}/").status_code == 404


def test_viewers_cannot_make_anything_from_a_video(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    viewer = cast.client_for(cast.viewer)
    for action in ("rerun", "frame", "upscale", "gif"):
        assert viewer.post(f"/videos/{video.public_id}/{action}/").status_code == 403
    assert Job.objects.count() == 1


def test_editors_see_the_next_steps(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    page = _page(cast.client_for(cast.editor), video)
    for text in (
        "Use last frame as start frame",
        "Re-run with the same inputs",
        "Edit settings and run",
        "1080p",
        "4K",
        "Make GIF",
        "Use this frame",
    ):
        assert text in page, text


def test_lineage_shows_parent_and_children(cast: Cast) -> None:
    root = make_output(cast.project, cast.editor, prompt_text="root")
    upscale = make_video(make_job(cast.project, cast.editor, mode="upscale"), parent=root)
    gif = make_video(make_job(cast.project, cast.editor, mode="gif"), parent=upscale, kind="gif")
    sibling = make_video(make_job(cast.project, cast.editor, mode="gif"), parent=root, kind="gif")
    page = _page(cast.client_for(cast.viewer), upscale)
    for other in (root, gif, sibling):
        assert f'href="/videos/{other.public_id}/"' in page
    assert 'aria-current="page"' in page and "this one" in page
    assert page.index(str(root.public_id)) < page.index(str(gif.public_id))


def test_rerun_makes_one_new_job_with_the_same_inputs(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor, prompt_text="Same again")
    client = cast.client_for(cast.editor)
    key = str(uuid.uuid4())
    response = client.post(f"/videos/{video.public_id}/rerun/", {"idempotency_key": key})
    client.post(f"/videos/{video.public_id}/rerun/", {"idempotency_key": key})
    new = Job.objects.exclude(pk=video.job_id).get()
    assert new.prompt_text == "Same again" and new.params["seed"] == video.job.params["seed"]
    assert response["Location"] == f"/projects/{cast.project.public_id}/#queue"


def test_upscale_makes_a_job_on_the_video(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    client = cast.client_for(cast.editor)
    client.post(f"/videos/{video.public_id}/upscale/", {"target": "4k"})
    job = Job.objects.get(mode="upscale")
    assert job.source_video == video and job.params["target"] == "4k"
    assert (job.provider, job.model) == ("local", "draft")
    response = client.post(f"/videos/{video.public_id}/upscale/", {"target": "8k"}, follow=True)
    assert "Upscaling is not available for this video." in response.content.decode()
    assert Job.objects.filter(mode="upscale").count() == 1


def test_make_gif_with_chosen_fps_and_width(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    cast.client_for(cast.editor).post(
        f"/videos/{video.public_id}/gif/", {"fps": "15", "width": "320"}
    )
    job = Job.objects.get(mode="gif")
    assert job.params["fps"] == 15 and job.params["width"] == 320
    assert job.source_video == video


def test_gifs_offer_no_upscale_gif_or_frames_and_are_named_after_their_source(
    cast: Cast,
) -> None:
    video = make_output(cast.project, cast.editor, prompt_text="Waves")
    gif_job = make_job(cast.project, cast.editor, mode="gif", prompt_text="", source_video=video)
    gif = make_video(gif_job, parent=video, kind="gif")
    page = _page(cast.client_for(cast.editor), gif)
    assert '<h1 class="video-title">GIF of “Waves”</h1>' in page
    assert "Make GIF" not in page and "Use this frame" not in page
    assert f'<img class="player" src="/files/videos/{gif.public_id}/file"' in page


def test_use_this_frame_adds_it_to_the_library(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor, real=True)
    client = member_client(cast.team, cast.editor)
    response = client.post(f"/videos/{video.public_id}/frame/", {"at": "0.5", "then": "library"})
    assert response["Location"] == "/library/"
    ref = ReferenceImage.objects.get()
    assert ref.source_video == video and ref.team == cast.team
    assert (ref.width, ref.height) == (160, 90)
    assert ref.original_name == "Frame at 0.50 s"
    # the same frame again is recognised
    client.post(f"/videos/{video.public_id}/frame/", {"at": "0.5"})
    assert ReferenceImage.objects.count() == 1


def test_use_last_frame_as_start_frame_opens_the_form_prefilled(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor, real=True)
    client = member_client(cast.team, cast.editor)
    response = client.post(f"/videos/{video.public_id}/frame/", {"then": "start"})
    ref = ReferenceImage.objects.get()
    assert response["Location"] == (
        f"/projects/{cast.project.public_id}/?mode=img2video&start={ref.public_id}#generate"
    )
    page = client.get(response["Location"].split("#")[0]).content.decode()
    assert f'value="{ref.public_id}" data-thumb' in page
    assert (
        f'value="{ref.public_id}" data-thumb="/files/references/{ref.public_id}/thumb" selected'
        in page
    )


def test_a_frame_time_outside_the_video_is_clamped_and_a_negative_one_refused(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor, real=True)
    client = member_client(cast.team, cast.editor)
    response = client.post(f"/videos/{video.public_id}/frame/", {"at": "-3"}, follow=True)
    assert "Choose a time inside the video." in response.content.decode()
    client.post(f"/videos/{video.public_id}/frame/", {"at": "99"})
    assert ReferenceImage.objects.count() == 1


def test_report_is_stored_for_the_moderators(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    viewer = cast.client_for(cast.viewer)
    empty = viewer.post(f"/videos/{video.public_id}/report/", {"reason": "  "})
    assert "Tell the moderators what is wrong." in empty.content.decode()
    assert not Report.objects.exists()
    response = viewer.post(f"/videos/{video.public_id}/report/", {"reason": "Shows a real logo"})
    report = Report.objects.get()
    assert report.reporter == cast.viewer and report.reason == "Shows a real logo"
    assert response.status_code == 302


def test_a_hidden_video_shows_a_notice_to_members(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor, hidden_at=timezone.now())
    page = _page(cast.client_for(cast.owner), video)
    assert "This video is hidden" in page and "<video" not in page
    assert cast.client_for(cast.owner).post(f"/videos/{video.public_id}/rerun/").status_code == 403


def test_removal_results_include_the_before_and_after_view(cast: Cast) -> None:
    source = make_output(cast.project, cast.editor)
    removal = make_video(
        make_job(cast.project, cast.editor, mode="removal", source_video=source), parent=source
    )
    response = cast.client_for(cast.viewer).get(f"/videos/{removal.public_id}/")
    assert "studio/partials/video_compare.html" in [t.name for t in response.templates]
    assert f'href="/videos/{source.public_id}/"' in response.content.decode()


def test_failed_jobs_never_show_a_video_page(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.FAILED)
    assert cast.client_for(cast.viewer).get(f"/videos/{job.public_id}/").status_code == 404


def test_upscale_and_gif_say_where_they_run_and_what_they_cost_before_the_click(
    cast: Cast,
) -> None:
    gateway = make_output(cast.project, cast.editor, provider="gateway", model="veo-fast")
    page = _page(cast.client_for(cast.editor), gateway)
    # The gateway cannot upscale or make GIFs: the local engine does, and says so.
    note = "Runs on Local engine (on this server), not on Gateway · free"
    assert f'<small id="upscale-where" class="route-note muted">{note}</small>' in page
    assert f'<small id="gif-where" class="route-note muted">{note}</small>' in page
    assert 'aria-describedby="upscale-where"' in page and 'aria-describedby="gif-where"' in page
    local = _page(cast.client_for(cast.editor), make_output(cast.project, cast.editor))
    assert ">Runs on Local engine (on this server) · free</small>" in local
