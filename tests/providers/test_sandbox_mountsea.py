"""The Mountsea provider against the sandbox gateway over real HTTP."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import pytest

from studio.providers.base import (
    InputImage,
    ProviderError,
    SourceVideo,
    SubmitRequest,
)
from tests.factories import mask_file
from tests.providers.conftest import wait_terminal


def request(**kw: object) -> SubmitRequest:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "mode": "text2video",
        "model": "veo31_fast",
        "prompt": "a cat in a meadow",
    }
    fields.update(kw)
    return SubmitRequest(**fields)  # type: ignore[arg-type]


def image(sandbox, role: str = "start", url: str | None = None) -> InputImage:
    return InputImage(
        role=role,
        path=Path("unused.png"),
        content_type="image/png",
        url=url or sandbox.sample_image_url(),
    )


def finished_video(sandbox_mountsea, **kw: object):
    submission = sandbox_mountsea.submit(request(**kw))
    result, _ = wait_terminal(sandbox_mountsea, submission.upstream_id)
    return submission, result


def test_a_text_to_video_job_goes_through_the_documented_statuses_to_a_real_mp4(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    submission = sandbox_mountsea.submit(request())
    result, seen = wait_terminal(sandbox_mountsea, submission.upstream_id)
    assert seen == ["pending", "assigned", "processing", "completed"]
    assert result.state == "succeeded"
    assert result.media_id.startswith("CAUSJD")
    assert result.raw["result"]["videoUrl"] == result.video_url
    dest = tmp_path / "video.mp4"
    assert sandbox_mountsea.download(submission.upstream_id, result, dest) == "video/mp4"
    with av.open(str(dest)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 640, 360)
    assert sandbox.stats()["creates"] == {"/gemini/video/generate": 1}


def test_frames_to_video_fetches_the_image_links(sandbox, sandbox_mountsea) -> None:
    submission, result = finished_video(
        sandbox_mountsea,
        mode="img2video",
        images=(image(sandbox), image(sandbox, "end", sandbox.sample_image_url("jpg"))),
    )
    assert result.state == "succeeded"
    body = sandbox.stats()["create_bodies"][0]["body"]
    assert body["imageList"] == [sandbox.sample_image_url(), sandbox.sample_image_url("jpg")]


def test_an_image_link_that_is_not_an_image_is_refused_and_nothing_is_created(
    sandbox, sandbox_mountsea
) -> None:
    with pytest.raises(ProviderError, match=r"imageList\[0\] is not an image") as caught:
        sandbox_mountsea.submit(
            request(mode="img2video", images=(image(sandbox, url=f"{sandbox.url}/_sandbox/stats"),))
        )
    assert (caught.value.permanent, caught.value.reason) == (True, "validation")
    assert sandbox.creates == 0


def test_an_image_link_that_is_gone_is_refused(sandbox, sandbox_mountsea) -> None:
    with pytest.raises(ProviderError, match="HTTP 404"):
        sandbox_mountsea.submit(
            request(
                mode="img2video",
                images=(image(sandbox, url=f"{sandbox.url}/_sandbox/nothing.png"),),
            )
        )


def test_ingredients_are_accepted_with_the_ingredients_model(sandbox, sandbox_mountsea) -> None:
    images = tuple(image(sandbox, "ingredient") for _ in range(3))
    _, result = finished_video(
        sandbox_mountsea, mode="ingredients2video", model="veo31_fast_ingredients", images=images
    )
    assert result.state == "succeeded"


def test_object_removal_works_on_a_video_the_sandbox_made(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    _, made = finished_video(sandbox_mountsea)
    source = SourceVideo(path=tmp_path / "v.mp4", width=640, height=360, media_id=made.media_id)
    submission = sandbox_mountsea.submit(
        request(
            mode="removal",
            model="object_remove",
            prompt="remove the square",
            source_video=source,
            mask_path=mask_file(tmp_path / "m.jpg"),
        )
    )
    result, _ = wait_terminal(sandbox_mountsea, submission.upstream_id)
    assert result.state == "succeeded"
    bodies = sandbox.stats()["create_bodies"]
    assert bodies[1]["path"] == "/gemini/video/object/remove"
    assert bodies[1]["body"]["imageMask"].endswith("bytes>")  # the mask itself is not kept


def test_object_removal_of_an_unknown_media_id_is_refused(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    source = SourceVideo(path=tmp_path / "v.mp4", width=640, height=360, media_id="CAUSJDnot-ours")
    with pytest.raises(ProviderError, match="not a finished video") as caught:
        sandbox_mountsea.submit(
            request(
                mode="removal",
                model="object_remove",
                source_video=source,
                mask_path=mask_file(tmp_path / "m.jpg"),
            )
        )
    assert caught.value.permanent


def test_the_sandbox_refuses_a_mask_that_is_not_a_base64_jpeg(sandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.key}"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        png = client.get("/_sandbox/sample.png").content
        import base64

        for mask in ("not base64!!", base64.b64encode(png).decode()):
            answer = client.post(
                "/gemini/video/object/remove", json={"videoId": "CAUSJDx", "imageMask": mask}
            )
            assert answer.status_code == 400
            assert "base64 encoded JPEG" in answer.json()["message"][0]


def test_the_video_urls_variant_succeeds_without_a_media_id(sandbox, sandbox_mountsea) -> None:
    sandbox.arm("create", "video_urls")
    _, result = finished_video(sandbox_mountsea)
    assert result.state == "succeeded"
    assert result.raw["result"] == {"videoUrls": [result.video_url]}
    assert result.media_id == ""


# -- create faults: exactly once ---------------------------------------------------


# -- poll faults ---------------------------------------------------------------------


# -- how tasks end ----------------------------------------------------------------------


def test_sandbox_results_are_refused_unless_private_urls_are_allowed(
    sandbox, sandbox_mountsea, tmp_path: Path, settings
) -> None:
    submission, result = finished_video(sandbox_mountsea)
    settings.STUDIO_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ProviderError, match="private or loopback"):
        sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4")
    assert sandbox.stats()["downloads_total"] == 0


# -- how tasks end (the shared mapping is in test_gateway_sandbox.py) -------------------


@pytest.mark.parametrize(
    ("fault", "status"),
    [("fail", "failed"), ("timeout", "timeout"), ("cancel", "cancelled"), ("no_url", "completed")],
)
def test_each_ending_keeps_mountseas_own_status_word(
    sandbox, sandbox_mountsea, fault: str, status: str
) -> None:
    sandbox.arm("create", fault)
    _, result = finished_video(sandbox_mountsea)
    assert result.upstream_status == status


def test_a_completed_task_without_a_video_link_fails_with_no_output(
    sandbox, sandbox_mountsea
) -> None:
    sandbox.arm("create", "no_url")
    _, result = finished_video(sandbox_mountsea)
    assert (result.state, result.fail_reason) == ("failed", "no_output")
    assert result.error_message
