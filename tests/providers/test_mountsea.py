"""The Mountsea provider against recorded answers (httpx.MockTransport)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from studio.providers.base import (
    InputImage,
    PollResult,
    ProviderError,
    SourceVideo,
    SubmitRequest,
)
from studio.providers.mountsea import MountseaProvider
from tests.factories import image_file, mask_file
from tests.providers.conftest import SECRET

START = InputImage(
    role="start",
    path=Path("start.png"),
    content_type="image/png",
    url="https://studio.example/s/start.png?sig=1",
)
END = InputImage(
    role="end",
    path=Path("end.png"),
    content_type="image/png",
    url="https://studio.example/s/end.png?sig=2",
)


def request(**kw: object) -> SubmitRequest:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "mode": "text2video",
        "model": "veo31_fast",
        "prompt": "a cat",
    }
    fields.update(kw)
    return SubmitRequest(**fields)  # type: ignore[arg-type]


def sent_json(recorder) -> dict:
    return json.loads(recorder.last.content)


# -- configuration and capabilities ----------------------------------------------


def test_the_provider_reads_its_configuration_from_settings(settings) -> None:
    settings.STUDIO_MOUNTSEA_URL = "https://mountsea.example"
    settings.STUDIO_MOUNTSEA_KEY = ""
    provider = MountseaProvider()
    assert provider.base_url == "https://mountsea.example"
    assert not provider.is_configured()


def test_the_seven_documented_models_and_the_edits_are_offered() -> None:
    specs = {spec.name: spec for spec in MountseaProvider(api_key="k").models()}
    assert set(specs) == {
        "veo2_fast",
        "veo2_quality",
        "veo3_fast",
        "veo3_quality",
        "veo31_fast",
        "veo31_quality",
        "veo31_fast_ingredients",
        "object_remove",
        "reshoot",
        "object_insert",
    }
    assert specs["veo31_fast"].modes == {"text2video", "img2video", "extend"}
    assert specs["veo3_fast"].modes == {"text2video", "img2video"}
    assert specs["reshoot"].modes == {"reshoot"}
    assert specs["object_insert"].modes == {"insert"}
    assert specs["veo31_fast"].images_for("img2video") == (1, 2)
    assert specs["veo31_fast_ingredients"].modes == {"ingredients2video"}
    assert specs["veo31_fast_ingredients"].images_for("ingredients2video") == (1, 3)
    assert specs["object_remove"].modes == {"removal"}
    assert all(spec.durations == () for spec in specs.values())
    assert specs["veo2_fast"].cost < specs["veo31_quality"].cost
    assert not any("upscale" in spec.modes or "gif" in spec.modes for spec in specs.values())


def test_polling_timing_follows_the_contract() -> None:
    assert (MountseaProvider.first_poll_delay, MountseaProvider.poll_interval) == (5.0, 5.0)
    assert MountseaProvider.max_poll_interval == 20.0
    assert MountseaProvider.deadline == 1800.0
    assert MountseaProvider.can_cancel is False


# -- submit bodies -------------------------------------------------------------------


def test_text_to_video_sends_the_documented_body_with_bearer_auth(mountsea_replay) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    submission = provider.submit(request(aspect_ratio="9:16"))
    assert submission.upstream_id == "0b1c5e7a9d3f4e21a8c6b2d4f6e8a0c2"
    assert submission.raw == {"taskId": "0b1c5e7a9d3f4e21a8c6b2d4f6e8a0c2"}
    assert recorder.last.method == "POST"
    assert recorder.last.url == "https://api.mountsea.example/gemini/video/generate"
    assert recorder.last.headers["authorization"] == f"Bearer {SECRET}"
    assert sent_json(recorder) == {
        "prompt": "a cat",
        "action": "text2video",
        "model": "veo31_fast",
        "aspectRatio": "9:16",
    }


def test_frames_to_video_sends_start_then_end_image_links(mountsea_replay) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    provider.submit(request(mode="img2video", images=(END, START)))
    assert sent_json(recorder)["imageList"] == [START.url, END.url]
    assert sent_json(recorder)["action"] == "img2video"


def test_ingredients_go_with_the_ingredients_model(mountsea_replay) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    images = tuple(
        InputImage("ingredient", Path(f"{i}.png"), "image/png", f"https://s.example/{i}.png")
        for i in range(3)
    )
    provider.submit(
        request(mode="ingredients2video", model="veo31_fast_ingredients", images=images)
    )
    body = sent_json(recorder)
    assert (body["action"], body["model"]) == ("ingredients2video", "veo31_fast_ingredients")
    assert len(body["imageList"]) == 3


def test_removal_sends_the_media_id_and_the_mask_as_base64_jpeg(
    mountsea_replay, tmp_path: Path
) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    mask = mask_file(tmp_path / "mask.jpg")
    provider.submit(
        request(
            mode="removal",
            model="object_remove",
            prompt="remove the cloud",
            source_video=SourceVideo(
                path=tmp_path / "v.mp4", width=640, height=360, media_id="CAUSJDabc"
            ),
            mask_path=mask,
        )
    )
    assert recorder.last.url.path == "/gemini/video/object/remove"
    body = sent_json(recorder)
    assert set(body) == {"videoId", "imageMask", "prompt"}
    assert body["videoId"] == "CAUSJDabc"
    assert base64.b64decode(body["imageMask"]) == mask.read_bytes()


def test_a_png_mask_is_converted_to_jpeg_before_sending(mountsea_replay, tmp_path: Path) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    mask = mask_file(tmp_path / "mask.png", fmt="PNG")
    provider.submit(
        request(
            mode="removal",
            model="object_remove",
            prompt="",
            source_video=SourceVideo(tmp_path / "v.mp4", 64, 36, media_id="CAUSJDabc"),
            mask_path=mask,
        )
    )
    decoded = base64.b64decode(sent_json(recorder)["imageMask"])
    assert decoded[:3] == b"\xff\xd8\xff"


# -- refusals before anything is sent --------------------------------------------


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"model": "veo9"}, "no model"),
        ({"model": "veo31_fast_ingredients"}, "cannot do text2video"),
        ({"mode": "ingredients2video"}, "cannot do ingredients2video"),
        ({"mode": "img2video"}, "takes 1 to 2 images, not 0"),
        ({"mode": "img2video", "images": (START, END, END)}, "not 3"),
        ({"mode": "img2video", "images": (END,)}, "one start frame"),
        ({"images": (START,)}, "takes 0 images"),
        ({"aspect_ratio": "1:1"}, "aspect ratio"),
        ({"prompt": "x" * 4001}, "at most 4000"),
        ({"prompt": "   "}, "needs a prompt"),
        (
            {"mode": "img2video", "images": (InputImage("start", Path("a.png"), "image/png", ""),)},
            "public http",
        ),
        ({"mode": "removal", "model": "object_remove"}, "mediaId is unknown"),
        (
            {
                "mode": "removal",
                "model": "object_remove",
                "source_video": SourceVideo(Path("v.mp4"), 1, 1, media_id="CAUS"),
            },
            "needs a mask",
        ),
    ],
)
def test_bad_requests_are_refused_before_sending(mountsea_replay, kw: dict, words: str) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    with pytest.raises(ProviderError, match=words) as caught:
        provider.submit(request(**kw))
    assert caught.value.permanent
    assert caught.value.reason == "validation"
    assert recorder.requests == []


def test_a_mask_that_is_not_an_image_is_refused(mountsea_replay, tmp_path: Path) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    bad = tmp_path / "mask.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ProviderError, match="not an image"):
        provider.submit(
            request(
                mode="removal",
                model="object_remove",
                source_video=SourceVideo(bad, 1, 1, media_id="CAUS"),
                mask_path=bad,
            )
        )
    assert recorder.requests == []


# -- create answers: exactly-once classification ---------------------------------


# -- polling ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state", "status"),
    [
        ("result_pending", "queued", "pending"),
        ("result_ready", "queued", "ready"),
        ("result_assigned", "queued", "assigned"),
        ("result_processing", "running", "processing"),
        ("result_queued", "running", "queued"),
        ("result_running", "running", "running"),
        ("result_status_upper_case", "running", "PROCESSING"),
        ("result_unknown_word", "unknown", "warming_up"),
        ("result_missing_status", "unknown", ""),
    ],
)
def test_waiting_statuses_are_mapped(mountsea_replay, name: str, state: str, status: str) -> None:
    provider, recorder = mountsea_replay(f"mountsea/{name}")
    result = provider.poll("0b1c5e7a9d3f4e21a8c6b2d4f6e8a0c2")
    assert (result.state, result.upstream_status) == (state, status)
    assert (
        result.raw
        == json.loads(Path(__file__).parent.joinpath(f"payloads/mountsea/{name}.json").read_text())[
            "body"
        ]
    )
    assert recorder.last.url.path == "/gemini/task/result"
    assert recorder.last.url.params["taskId"] == "0b1c5e7a9d3f4e21a8c6b2d4f6e8a0c2"
    assert recorder.last.headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    ("name", "url", "media_id"),
    [
        ("result_completed_video_url", "https://cdn.mountsea.example/v/abc.mp4", "CAUSJDabc123"),
        ("result_completed_video_urls", "https://cdn.mountsea.example/v/first.mp4", ""),
        (
            "result_completed_media_generation_id",
            "https://cdn.mountsea.example/v/nested.mp4",
            "CAUSJDnested",
        ),
        ("result_wrapped_in_data", "https://cdn.mountsea.example/v/wrapped.mp4", "CAUSJDwrapped"),
    ],
)
def test_completed_tasks_yield_the_video_link_and_media_id(
    mountsea_replay, name: str, url: str, media_id: str
) -> None:
    provider, _ = mountsea_replay(f"mountsea/{name}")
    result = provider.poll("t")
    assert result.state == "succeeded"
    assert (result.video_url, result.media_id) == (url, media_id)
    assert result.raw["status" if "data" not in result.raw else "data"]


@pytest.mark.parametrize(
    ("name", "state", "reason", "message"),
    [
        ("result_completed_no_url", "failed", "no_output", "no video"),
        ("result_failed", "failed", "upstream_error", "Video generation failed: upstream error"),
        ("result_failed_safety", "failed", "content_filtered", "safety filter"),
        ("result_timeout", "failed", "timeout", "Task timed out"),
        ("result_cancelled", "cancelled", "cancelled_upstream", "cancelled"),
    ],
)
def test_terminal_failures_are_mapped_with_a_reason(
    mountsea_replay, name, state, reason, message
) -> None:
    provider, _ = mountsea_replay(f"mountsea/{name}")
    result = provider.poll("t")
    assert (result.state, result.fail_reason) == (state, reason)
    assert message in result.error_message


def test_a_failure_message_is_cleaned_of_the_key(mountsea_replay) -> None:
    answer = httpx.Response(
        200, json={"taskId": "t", "status": "failed", "errorMessage": f"bad key {SECRET}"}
    )
    provider, _ = mountsea_replay(answer)
    assert SECRET not in provider.poll("t").error_message


# -- download -------------------------------------------------------------------------


def test_the_result_is_downloaded_without_the_key(
    mountsea_replay, tmp_path: Path, settings
) -> None:
    settings.STUDIO_ALLOW_PRIVATE_URLS = True  # the mock host does not resolve
    video = httpx.Response(
        200,
        content=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
        headers={"content-type": "video/mp4"},
    )
    provider, recorder = mountsea_replay("mountsea/result_completed_video_url", video)
    result = provider.poll("t")
    assert provider.download("t", result, tmp_path / "v.mp4") == "video/mp4"
    assert str(recorder.last.url) == "https://cdn.mountsea.example/v/abc.mp4"
    assert "authorization" not in recorder.last.headers
    assert (tmp_path / "v.mp4").stat().st_size == 76


def test_a_result_without_a_link_cannot_be_downloaded(mountsea_replay, tmp_path: Path) -> None:
    provider, _ = mountsea_replay("mountsea/result_completed_no_url")
    result = PollResult(state="succeeded", upstream_status="completed", raw={"result": {}})
    with pytest.raises(ProviderError) as caught:
        provider.download("t", result, tmp_path / "v.mp4")
    assert caught.value.reason == "no_output"


def test_sample_images_exist_for_the_tests(tmp_path: Path) -> None:
    # Guard for the helpers the sandbox tests rely on.
    with Image.open(image_file(tmp_path / "a.png")) as image:
        assert image.format == "PNG"


def test_without_a_url_the_provider_goes_to_the_public_gateway() -> None:
    with MountseaProvider(api_key="k") as provider:
        assert provider.is_configured()
