"""The OpenAI-format /v1/videos provider against recorded answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from studio.providers.base import (
    InputImage,
    PollResult,
    ProviderError,
    SubmitRequest,
)
from studio.providers.openai_videos import OpenAIVideosProvider
from tests.factories import image_file
from tests.providers.conftest import SECRET

VID = "83319f9e-9828-4a17-bf3e-365edbcf226b"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100


def request(**kw: object) -> SubmitRequest:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "mode": "text2video",
        "model": "veo3.1",
        "prompt": "a cat",
        "duration_seconds": 6,
    }
    fields.update(kw)
    return SubmitRequest(**fields)  # type: ignore[arg-type]


def form_fields(request: httpx.Request) -> dict[str, bytes]:
    """Parse the multipart body the provider sent."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    fields = {}
    for part in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = part.strip(b"\r\n").partition(b"\r\n\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        fields[name] = body
    return fields


def test_the_base_url_may_be_given_with_or_without_v1() -> None:
    assert (
        OpenAIVideosProvider(base_url="https://g.example/v1/", api_key="k").base_url
        == "https://g.example"
    )
    assert (
        OpenAIVideosProvider(base_url="https://g.example", api_key="k").base_url
        == "https://g.example"
    )


def test_models_are_veo31_and_pro_with_the_documented_durations() -> None:
    specs = {
        spec.name: spec for spec in OpenAIVideosProvider(base_url="https://g", api_key="k").models()
    }
    assert set(specs) == {"veo3.1", "veo3.1-pro"}
    for spec in specs.values():
        assert spec.modes == {"text2video", "img2video"}
        assert spec.durations == (4, 6, 8)
        assert spec.aspect_ratios == ("16:9", "9:16")
        assert spec.images_for("img2video") == (1, 1)
    assert OpenAIVideosProvider.first_poll_delay == 10.0
    assert OpenAIVideosProvider.can_cancel is False


def test_text_to_video_is_sent_as_multipart_with_a_raw_key(openai_replay) -> None:
    provider, recorder = openai_replay("openai/create_200", auth="raw")
    submission = provider.submit(request(aspect_ratio="9:16"))
    assert submission.upstream_id == VID
    assert submission.raw["status"] == "queued"
    sent = recorder.last
    assert sent.url == "https://gateway.example/v1/videos"
    assert sent.headers["authorization"] == SECRET
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert form_fields(sent) == {
        "prompt": b"a cat",
        "model": b"veo3.1",
        "size": b"9:16",
        "seconds": b"6",
    }


def test_the_bearer_form_of_the_key_is_configurable(openai_replay) -> None:
    provider, recorder = openai_replay("openai/create_200", auth="bearer")
    provider.submit(request())
    assert recorder.last.headers["authorization"] == f"Bearer {SECRET}"


def test_the_auth_form_comes_from_settings(settings) -> None:
    settings.STUDIO_OPENAI_VIDEOS_AUTH = "raw"
    assert OpenAIVideosProvider(base_url="https://g", api_key="k").auth == "raw"


def test_frames_to_video_uploads_the_start_frame_as_input_reference(
    openai_replay, tmp_path: Path
) -> None:
    provider, recorder = openai_replay("openai/create_200")
    path = image_file(tmp_path / "start.png")
    provider.submit(request(mode="img2video", images=(InputImage("start", path, "image/png"),)))
    fields = form_fields(recorder.last)
    assert fields["input_reference"] == path.read_bytes()
    assert b'filename="start.png"' in recorder.last.content


def test_a_create_without_a_duration_leaves_it_to_the_gateway(openai_replay) -> None:
    provider, recorder = openai_replay("openai/create_200")
    provider.submit(request(duration_seconds=None))
    assert "seconds" not in form_fields(recorder.last)


def test_an_id_under_task_id_is_accepted(openai_replay) -> None:
    provider, _ = openai_replay("openai/create_200_task_id")
    assert provider.submit(request()).upstream_id == "task_Zx81"


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"model": "sora-2"}, "no model"),
        ({"mode": "ingredients2video"}, "cannot do"),
        ({"mode": "img2video"}, "takes 1 image"),
        ({"duration_seconds": 5}, "4, 6 or 8"),
        ({"aspect_ratio": "1:1"}, "aspect ratio"),
        ({"prompt": "x" * 32001}, "at most 32000"),
        ({"prompt": ""}, "needs a prompt"),
        (
            {"mode": "img2video", "images": (InputImage("end", Path("e.png"), "image/png"),)},
            "only a start frame",
        ),
        (
            {
                "mode": "img2video",
                "images": (InputImage("start", Path("/nonexistent/s.png"), "image/png"),),
            },
            "cannot be read",
        ),
    ],
)
def test_bad_requests_are_refused_before_sending(openai_replay, kw: dict, words: str) -> None:
    provider, recorder = openai_replay("openai/create_200")
    with pytest.raises(ProviderError, match=words) as caught:
        provider.submit(request(**kw))
    assert (caught.value.permanent, caught.value.reason) == (True, "validation")
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("name", "state", "progress"),
    [
        ("video_queued", "queued", 0),
        ("video_pending", "queued", 0),
        ("video_submitted", "queued", 0),
        ("video_not_start", "queued", 0),
        ("video_in_progress", "running", 50),
        ("video_processing", "running", 35),
        ("video_generating", "running", 72),
        ("video_unknown_word", "unknown", 0),
        ("video_missing_status", "unknown", None),
    ],
)
def test_waiting_statuses_are_mapped_with_progress(
    openai_replay, name: str, state: str, progress
) -> None:
    provider, recorder = openai_replay(f"openai/{name}")
    result = provider.poll(VID)
    assert (result.state, result.progress) == (state, progress)
    assert recorder.last.url == f"https://gateway.example/v1/videos/{VID}"
    assert result.raw["id"] == VID


@pytest.mark.parametrize(
    "name", ["video_completed", "video_success_upper_case", "video_completed_video_url"]
)
def test_finished_words_mean_succeeded(openai_replay, name: str) -> None:
    provider, _ = openai_replay(f"openai/{name}")
    result = provider.poll(VID)
    assert result.state == "succeeded"
    assert result.progress == 100


def test_a_video_url_in_the_answer_is_kept(openai_replay) -> None:
    provider, _ = openai_replay("openai/video_completed_video_url")
    assert provider.poll(VID).video_url == "https://files.gateway.example/v/83319f9e.mp4"


@pytest.mark.parametrize(
    ("name", "state", "reason", "message"),
    [
        ("video_failed", "failed", "upstream_error", "Video generation failed"),
        ("video_failed_safety", "failed", "content_filtered", "safety system"),
        ("video_failure_string_error", "failed", "upstream_error", "upstream quota"),
        ("video_expired", "failed", "expired", "expired"),
        ("video_cancelled", "cancelled", "cancelled_upstream", "cancelled"),
        ("video_canceled", "cancelled", "cancelled_upstream", "cancelled"),
    ],
)
def test_terminal_failures_are_mapped(openai_replay, name, state, reason, message) -> None:
    provider, _ = openai_replay(f"openai/{name}")
    result = provider.poll(VID)
    assert (result.state, result.fail_reason) == (state, reason)
    assert message in result.error_message


def done(url: str = "") -> PollResult:
    return PollResult(state="succeeded", upstream_status="completed", raw={}, video_url=url)


def test_the_video_is_downloaded_from_content_with_the_key(openai_replay, tmp_path: Path) -> None:
    video = httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})
    provider, recorder = openai_replay(video)
    assert provider.download(VID, done(), tmp_path / "v.mp4") == "video/mp4"
    assert recorder.last.url == f"https://gateway.example/v1/videos/{VID}/content"
    assert recorder.last.headers["authorization"] == SECRET
    assert (tmp_path / "v.mp4").read_bytes() == MP4


def test_content_that_is_not_ready_yet_is_a_transient_error(openai_replay, tmp_path: Path) -> None:
    provider, _ = openai_replay("openai/content_400_not_ready")
    with pytest.raises(ProviderError, match="not completed yet") as caught:
        provider.download(VID, done(), tmp_path / "v.mp4")
    assert not caught.value.permanent
    assert not (tmp_path / "v.mp4").exists()


def test_missing_content_falls_back_to_the_video_url(
    openai_replay, tmp_path: Path, settings
) -> None:
    settings.STUDIO_ALLOW_PRIVATE_URLS = True  # the mock CDN host does not resolve
    video = httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})
    provider, recorder = openai_replay("openai/content_404", video)
    provider.download(VID, done("https://files.gateway.example/v/1.mp4"), tmp_path / "v.mp4")
    assert str(recorder.last.url) == "https://files.gateway.example/v/1.mp4"
    assert "authorization" not in recorder.last.headers


def test_missing_content_without_a_link_is_expired(openai_replay, tmp_path: Path) -> None:
    provider, _ = openai_replay("openai/content_404")
    with pytest.raises(ProviderError) as caught:
        provider.download(VID, done(), tmp_path / "v.mp4")
    assert (caught.value.permanent, caught.value.reason) == (True, "expired")


def test_video_ids_are_escaped_in_paths(openai_replay) -> None:
    provider, recorder = openai_replay("openai/video_queued")
    provider.poll("a/../b")
    assert recorder.last.url.raw_path == b"/v1/videos/a%2F..%2Fb"
