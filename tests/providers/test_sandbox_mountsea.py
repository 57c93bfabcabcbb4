"""The Mountsea provider against the sandbox gateway over real HTTP."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import av
import httpx
import pytest

from studio.providers.base import (
    InputImage,
    ProviderError,
    SourceVideo,
    SubmitNotAccepted,
    SubmitOutcomeUnknown,
    SubmitRequest,
)
from studio.providers.mountsea import MountseaProvider
from tests.providers.conftest import TEST_TIMEOUT, make_mask, wait_terminal


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


def test_a_portrait_job_gives_a_portrait_video(sandbox, sandbox_mountsea, tmp_path: Path) -> None:
    submission, result = finished_video(sandbox_mountsea, aspect_ratio="9:16")
    sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4")
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (360, 640)


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


def test_a_wrong_key_is_a_permanent_auth_error(sandbox, allow_private) -> None:
    provider = MountseaProvider(base_url=sandbox.url, api_key="wrong", timeout=TEST_TIMEOUT)
    with provider, pytest.raises(ProviderError) as caught:
        provider.submit(request())
    assert (caught.value.permanent, caught.value.reason, caught.value.status_code) == (
        True,
        "auth",
        401,
    )
    assert "wrong" not in caught.value.message


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
            mask_path=make_mask(tmp_path / "m.jpg"),
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
                mask_path=make_mask(tmp_path / "m.jpg"),
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


@pytest.mark.parametrize("fault", ["429", "503"])
def test_refusals_before_acceptance_are_retryable_and_create_nothing(
    sandbox, sandbox_mountsea, fault: str
) -> None:
    sandbox.arm("create", f"{fault}=2")
    with pytest.raises(SubmitNotAccepted) as caught:
        sandbox_mountsea.submit(request())
    assert caught.value.retry_after == 2.0
    assert sandbox.creates == 0
    assert sandbox.stats()["create_attempts"] == {"/gemini/video/generate": 1}
    # The fault was armed once: the retry goes through.
    assert sandbox_mountsea.submit(request()).upstream_id
    assert sandbox.creates == 1


@pytest.mark.parametrize(
    "fault",
    ["500", "502", "read_timeout=2", "drop_after_create", "malformed_json", "missing_fields"],
)
def test_answers_lost_after_the_create_are_outcome_unknown_and_the_task_exists(
    sandbox, sandbox_mountsea, fault: str
) -> None:
    sandbox.arm("create", fault)
    with pytest.raises(SubmitOutcomeUnknown):
        sandbox_mountsea.submit(request())
    assert sandbox.creates == 1


def test_latency_slows_the_answer_but_it_arrives(sandbox, sandbox_mountsea) -> None:
    import time

    sandbox.arm("create", "latency=0.2")
    started = time.monotonic()
    assert sandbox_mountsea.submit(request()).upstream_id
    assert time.monotonic() - started >= 0.2


def test_a_gateway_that_is_not_listening_did_not_accept_the_job(allow_private) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        MountseaProvider(
            base_url=f"http://127.0.0.1:{port}", api_key="k", timeout=TEST_TIMEOUT
        ) as provider,
        pytest.raises(SubmitNotAccepted, match="nothing was sent"),
    ):
        provider.submit(request())


# -- poll faults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", ["429=3", "500", "502", "503", "read_timeout=2", "drop", "malformed_json"]
)
def test_poll_faults_are_transient(sandbox, sandbox_mountsea, fault: str) -> None:
    upstream_id = sandbox_mountsea.submit(request()).upstream_id
    sandbox.arm("poll", fault)
    with pytest.raises(ProviderError) as caught:
        sandbox_mountsea.poll(upstream_id)
    assert not caught.value.permanent
    if fault.startswith("429"):
        assert caught.value.retry_after == 3.0
    # The next poll is fine again.
    assert sandbox_mountsea.poll(upstream_id).state in ("queued", "running", "succeeded")


@pytest.mark.parametrize("fault", ["unknown_status", "missing_fields"])
def test_odd_poll_answers_are_unknown_so_the_caller_keeps_polling(
    sandbox, sandbox_mountsea, fault: str
) -> None:
    upstream_id = sandbox_mountsea.submit(request()).upstream_id
    sandbox.arm("poll", fault)
    assert sandbox_mountsea.poll(upstream_id).state == "unknown"


def test_a_task_that_says_an_unknown_word_midway_still_finishes(sandbox, sandbox_mountsea) -> None:
    sandbox.arm("create", "unknown_status")
    submission = sandbox_mountsea.submit(request())
    result, seen = wait_terminal(sandbox_mountsea, submission.upstream_id)
    assert "warming_up" in seen
    assert result.state == "succeeded"


def test_polling_an_unknown_task_is_a_transient_not_found(sandbox, sandbox_mountsea) -> None:
    with pytest.raises(ProviderError) as caught:
        sandbox_mountsea.poll("no-such-task")
    assert (caught.value.permanent, caught.value.status_code) == (False, 404)


# -- how tasks end ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "state", "reason", "status"),
    [
        ("fail", "failed", "upstream_error", "failed"),
        ("timeout", "failed", "timeout", "timeout"),
        ("cancel", "cancelled", "cancelled_upstream", "cancelled"),
        ("no_url", "failed", "no_output", "completed"),
    ],
)
def test_tasks_that_end_badly_are_mapped(
    sandbox, sandbox_mountsea, fault, state, reason, status
) -> None:
    sandbox.arm("create", fault)
    _, result = finished_video(sandbox_mountsea)
    assert (result.state, result.fail_reason, result.upstream_status) == (state, reason, status)
    assert result.error_message


def test_an_expired_result_link_is_a_permanent_expired_error(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    sandbox.arm("create", "expire_result")
    submission, result = finished_video(sandbox_mountsea)
    with pytest.raises(ProviderError) as caught:
        sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4")
    assert (caught.value.permanent, caught.value.reason, caught.value.status_code) == (
        True,
        "expired",
        410,
    )
    assert not (tmp_path / "v.mp4").exists()


def test_result_links_expire_after_their_lifetime(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    sandbox.configure(file_ttl=0.0)
    submission, result = finished_video(sandbox_mountsea)
    with pytest.raises(ProviderError, match="expired"):
        sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4")


@pytest.mark.parametrize("fault", ["500", "503", "read_timeout=2", "drop"])
def test_download_faults_are_transient(
    sandbox, sandbox_mountsea, tmp_path: Path, fault: str
) -> None:
    submission, result = finished_video(sandbox_mountsea)
    sandbox.arm("download", fault)
    with pytest.raises(ProviderError) as caught:
        sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4")
    assert not caught.value.permanent
    assert not (tmp_path / "v.mp4").exists()
    assert (
        sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4") == "video/mp4"
    )


def test_an_octet_stream_result_is_accepted_by_its_signature(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    submission, result = finished_video(sandbox_mountsea)
    sandbox.arm("download", "octet_stream")
    assert (
        sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4") == "video/mp4"
    )


def test_sandbox_results_are_refused_unless_private_urls_are_allowed(
    sandbox, sandbox_mountsea, tmp_path: Path, settings
) -> None:
    submission, result = finished_video(sandbox_mountsea)
    settings.STUDIO_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ProviderError, match="private or loopback"):
        sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4")
    assert sandbox.stats()["downloads_total"] == 0


def test_the_download_is_a_whole_mp4(sandbox, sandbox_mountsea, tmp_path: Path) -> None:
    submission, result = finished_video(sandbox_mountsea)
    sandbox_mountsea.download(submission.upstream_id, result, tmp_path / "v.mp4")
    data = (tmp_path / "v.mp4").read_bytes()
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].frames == 48
