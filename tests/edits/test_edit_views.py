"""Extend, reshoot and insert from a video's page: offers, submits, refusals, permissions."""

from __future__ import annotations

import base64
import html
import uuid
from typing import Any

import pytest

from studio.forms.videos import INSERT_EMPTY_MASK
from studio.models import Job, Mask, Mode, Video
from tests.conftest import Cast
from tests.factories import PAINTER_CLIP, encode, make_output, mask_pixels, mountsea_video

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests look at rows; the end-to-end tests run the engine."""
    from studio.jobs import dispatch

    monkeypatch.setattr(dispatch, "enqueue", lambda *args, **kwargs: None)


def page(client: Any, video: Video) -> str:
    response = client.get(f"/videos/{video.public_id}/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def follow(response: Any) -> str:
    return html.unescape(response.content.decode())


def post(client: Any, video: Video, action: str, data: dict[str, Any]) -> Any:
    return client.post(f"/videos/{video.public_id}/{action}/", data, follow=True)


def mask_data(width: int, height: int, *, black: bool = False) -> str:
    pixels = mask_pixels(width, height) * (0 if black else 1)
    return "data:image/jpeg;base64," + base64.b64encode(encode(pixels)).decode()


def test_the_page_offers_the_three_edits_with_their_cost_and_where_they_run(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    text = page(cast.client_for(cast.editor), video)
    for words in ("Edit this video", "Extend", "Reshoot", "Insert object", "Push forward"):
        assert words in text, words
    assert text.count("Offline draft · Local draft engine (offline)") >= 3
    assert text.count("· free · on this server, offline") == 3
    assert 'value="local:draft"' in text
    assert "paint where it goes" in text


def test_viewers_see_no_edits_and_cannot_post_them(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    viewer = cast.client_for(cast.viewer)
    assert "Edit this video" not in page(viewer, video)
    for action in ("extend", "reshoot", "insert"):
        answer = viewer.post(f"/videos/{video.public_id}/{action}/", {"route": "local:draft"})
        assert answer.status_code == 403
    assert viewer.get(f"/videos/{video.public_id}/insert/").status_code == 403
    assert Job.objects.count() == 1


def test_outsiders_get_404_and_anonymous_visitors_are_sent_to_sign_in(cast: Cast) -> None:
    from django.test import Client

    video = make_output(cast.project, cast.editor)
    outsider = cast.client_for(cast.outsider)
    for action in ("extend", "reshoot", "insert"):
        url = f"/videos/{video.public_id}/{action}/"
        assert outsider.post(url, {"route": "local:draft"}).status_code == 404
        answer = Client().post(url, {"route": "local:draft"})
        assert answer.status_code == 302 and "/login/" in answer["Location"]
    assert Job.objects.count() == 1


def test_extend_and_reshoot_take_only_posts(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    client = cast.client_for(cast.editor)
    for action in ("extend", "reshoot"):
        assert client.get(f"/videos/{video.public_id}/{action}/").status_code == 405
    assert client.put(f"/videos/{video.public_id}/insert/").status_code == 405


def test_extend_makes_one_job_on_the_video_and_stays_on_its_page(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    client = cast.client_for(cast.editor)
    key = str(uuid.uuid4())
    data = {"route": "local:draft", "prompt": "the tide comes in", "idempotency_key": key}
    answer = client.post(f"/videos/{video.public_id}/extend/", data)
    client.post(f"/videos/{video.public_id}/extend/", data)  # a double click
    job = Job.objects.get(mode=Mode.EXTEND)
    assert answer["Location"] == f"/videos/{video.public_id}/#job-{job.public_id}"
    assert (job.provider, job.model, job.source_video) == ("local", "draft", video)
    assert job.prompt_text == "the tide comes in"
    text = page(client, video)
    assert f'id="job-{job.public_id}"' in text and 'id="job-poller"' in text


def test_reshoot_stores_the_camera_move(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    client = cast.client_for(cast.editor)
    text = follow(
        post(client, video, "reshoot", {"route": "local:draft", "motion_type": "DOLLY_IN_ZOOM_OUT"})
    )
    assert "Reshooting: dolly in, zoom out (vertigo)." in text
    job = Job.objects.get(mode=Mode.RESHOOT)
    assert job.params["motion_type"] == "DOLLY_IN_ZOOM_OUT"


def test_insert_without_a_mask_from_the_page_and_with_one_from_the_painter(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor, **PAINTER_CLIP)
    client = cast.client_for(cast.editor)
    post(client, video, "insert", {"route": "local:draft", "prompt": "a red kite"})
    first = Job.objects.get(mode=Mode.INSERT)
    assert first.mask is None and first.prompt_text == "a red kite"
    painter = client.get(f"/videos/{video.public_id}/insert/")
    text = html.unescape(painter.content.decode())
    assert "Insert an object" in text and "White in the exported mask is where it is placed" in text
    assert "data-mask-optional" in text
    post(
        client,
        video,
        "insert",
        {
            "route": "local:draft",
            "prompt": "a kite",
            "mask_data": mask_data(640, 360),
            "from": "painter",
        },
    )
    second = Job.objects.filter(mode=Mode.INSERT).latest("created_at")
    assert second.mask is not None and (second.mask.width, second.mask.height) == (640, 360)


@pytest.mark.parametrize(
    ("mask", "words"),
    [
        (mask_data(100, 100), "the aspect ratios differ"),
        (mask_data(640, 360, black=True), INSERT_EMPTY_MASK),
    ],
)
def test_an_insert_mask_of_the_wrong_size_or_all_black_is_refused_and_nothing_is_kept(
    cast: Cast, mask: str, words: str
) -> None:
    video = make_output(cast.project, cast.editor, **PAINTER_CLIP)
    client = cast.client_for(cast.editor)
    for source in ("page", "painter"):
        data = {"route": "local:draft", "prompt": "a kite", "mask_data": mask, "from": source}
        assert words in follow(post(client, video, "insert", data))
    assert not Job.objects.filter(mode=Mode.INSERT).exists()
    assert not Mask.objects.exists()


def test_an_unknown_camera_move_is_refused(cast: Cast) -> None:
    video = make_output(cast.project, cast.editor)
    client = cast.client_for(cast.editor)
    for motion in ("SPIN", "RESHOOT_MOTION_TYPE_UP", ""):
        text = follow(
            post(client, video, "reshoot", {"route": "local:draft", "motion_type": motion})
        )
        assert "Choose one of the listed camera moves." in text
    assert not Job.objects.filter(mode=Mode.RESHOOT).exists()


def test_forged_gateway_edits_are_refused_with_the_providers_reason_and_nothing_is_sent(
    cast: Cast, sandbox: Any
) -> None:
    video = mountsea_video(cast.project, cast.editor)
    extended = make_output(
        cast.project,
        cast.editor,
        mode=Mode.EXTEND,
        provider="mountsea",
        model="veo31_fast",
        source_video=video,
        parent=video,
        media_id="CAUSJDextended",
    )
    client = cast.client_for(cast.editor)
    jobs_before = Job.objects.count()
    cases = [
        (
            video,
            "extend",
            {"route": "mountsea:veo3_fast"},
            "Extend needs Veo 3.1 Fast or Veo 3.1 Quality, not Veo 3 Fast.",
        ),
        (video, "extend", {"route": "mountsea:object_insert"}, "Extend needs Veo 3.1 Fast"),
        (
            extended,
            "reshoot",
            {"route": "mountsea:reshoot", "motion_type": "UP"},
            "Mountsea cannot reshoot extended videos.",
        ),
        (
            extended,
            "insert",
            {"route": "mountsea:object_insert", "prompt": "a kite"},
            "Mountsea cannot insert objects into extended videos.",
        ),
        (video, "reshoot", {"route": "openai:veo3.1", "motion_type": "UP"}, "cannot do reshoot"),
        (video, "extend", {"route": "nowhere"}, "Choose where the edit runs."),
    ]
    for target, action, data, words in cases:
        assert words in follow(post(client, target, action, data)), (action, data)
    assert Job.objects.count() == jobs_before
    assert sandbox.stats()["creates"] == {"/gemini/video/generate": 1}


def test_options_a_video_cannot_take_are_disabled_with_the_providers_reason(
    cast: Cast, sandbox: Any
) -> None:
    made_here = make_output(cast.project, cast.editor)
    text = page(cast.client_for(cast.editor), made_here)
    assert "Veo 3.1 Fast · Mountsea (Veo)" in text
    assert "· 40 credits · on a gateway" in text
    assert (
        "Mountsea (Veo): extend needs Veo 3.1 Fast or Veo 3.1 Quality; other models cannot." in text
    )
    assert "Mountsea can only extend videos it made itself" in text
    assert "Mountsea can only edit videos it made itself" in text
    extended = make_output(
        cast.project,
        cast.editor,
        mode=Mode.EXTEND,
        provider="mountsea",
        model="veo31_fast",
        media_id="",
    )
    text = page(cast.client_for(cast.editor), extended)
    assert "Mountsea cannot reshoot extended videos." in text
    assert "Mountsea cannot insert objects into extended videos." in text
    # The local engine still takes it, and it is the default.
    assert text.count('value="local:draft" id=') == 3
