"""The OpenAI-format provider against the sandbox gateway over real HTTP."""

from __future__ import annotations

from pathlib import Path

import av
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
from tests.providers.conftest import TEST_TIMEOUT, wait_terminal


def request(**kw: object) -> SubmitRequest:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "mode": "text2video",
        "model": "veo3.1",
        "prompt": "a cat",
        "duration_seconds": 4,
    }
    fields.update(kw)
    return SubmitRequest(**fields)  # type: ignore[arg-type]


def test_a_video_goes_queued_in_progress_completed_and_downloads_as_mp4(
    sandbox, sandbox_openai, tmp_path: Path
) -> None:
    sandbox.configure(step_seconds=0.1)
    submission = sandbox_openai.submit(request(model="veo3.1-pro", aspect_ratio="9:16"))
    assert submission.raw["status"] == "queued"
    progress: list[int] = []
    while True:
        result = sandbox_openai.poll(submission.upstream_id)
        if result.state == "running":
            progress.append(result.progress or 0)
        if result.state == "succeeded":
            break
    assert progress == sorted(progress)
    assert progress[-1] > progress[0]
    dest = tmp_path / "v.mp4"
    assert sandbox_openai.download(submission.upstream_id, result, dest) == "video/mp4"
    with av.open(str(dest)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (360, 640)
    body = sandbox.stats()["create_bodies"][0]["body"]
    assert body == {"prompt": "a cat", "model": "veo3.1-pro", "seconds": "4", "size": "9:16"}


def test_the_start_frame_arrives_as_an_image_file(sandbox, sandbox_openai, tmp_path: Path) -> None:
    path = image_file(tmp_path / "start.jpg", fmt="JPEG")
    submission = sandbox_openai.submit(
        request(mode="img2video", images=(InputImage("start", path, "image/jpeg"),))
    )
    result, _ = wait_terminal(sandbox_openai, submission.upstream_id)
    assert result.state == "succeeded"
    reference = sandbox.stats()["create_bodies"][0]["body"]["input_reference"]
    assert reference == {
        "filename": "start.jpg",
        "content_type": "image/jpeg",
        "bytes": path.stat().st_size,
        "format": "JPEG",
    }


def test_both_forms_of_the_key_are_accepted(sandbox, allow_private) -> None:
    for auth in ("raw", "bearer"):
        with OpenAIVideosProvider(
            base_url=sandbox.url, api_key=sandbox.key, auth=auth, timeout=TEST_TIMEOUT
        ) as provider:
            assert provider.submit(request()).upstream_id


def test_the_sandbox_checks_the_documented_enums(sandbox) -> None:
    headers = {"Authorization": sandbox.key}
    cases = [
        ({"prompt": "x", "model": "sora-2"}, "model must be"),
        ({"prompt": "x", "model": "veo3.1", "seconds": "5"}, "seconds must be"),
        ({"prompt": "x", "model": "veo3.1", "size": "1280x720"}, "size must be"),
        ({"model": "veo3.1"}, "prompt is required"),
    ]
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        for fields, words in cases:
            answer = client.post("/v1/videos", files=[(k, (None, v)) for k, v in fields.items()])
            assert answer.status_code == 400
            assert words in answer.json()["error"]["message"]
        not_image = client.post(
            "/v1/videos",
            files=[
                ("prompt", (None, "x")),
                ("model", (None, "veo3.1")),
                ("input_reference", ("a.png", b"text", "image/png")),
            ],
        )
        assert "must be an image" in not_image.json()["error"]["message"]
        as_json = client.post("/v1/videos", json={"prompt": "x", "model": "veo3.1"})
        assert as_json.status_code == 400
    assert sandbox.creates == 0


def test_content_before_completion_is_a_transient_not_ready(
    sandbox, sandbox_openai, tmp_path: Path
) -> None:
    sandbox.configure(step_seconds=5)
    submission = sandbox_openai.submit(request())
    early = PollResult(state="running", upstream_status="in_progress", raw={})
    with pytest.raises(ProviderError, match="not completed yet, current status: queued") as caught:
        sandbox_openai.download(submission.upstream_id, early, tmp_path / "v.mp4")
    assert not caught.value.permanent


def test_content_supports_range_requests(sandbox, sandbox_openai) -> None:
    submission = sandbox_openai.submit(request())
    wait_terminal(sandbox_openai, submission.upstream_id)
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.key}) as client:
        whole = client.get(f"/v1/videos/{submission.upstream_id}/content")
        part = client.get(
            f"/v1/videos/{submission.upstream_id}/content", headers={"Range": "bytes=0-99"}
        )
        tail = client.get(
            f"/v1/videos/{submission.upstream_id}/content", headers={"Range": "bytes=-10"}
        )
        beyond = client.get(
            f"/v1/videos/{submission.upstream_id}/content",
            headers={"Range": f"bytes={len(whole.content)}-"},
        )
    assert whole.headers["accept-ranges"] == "bytes"
    assert part.status_code == 206
    assert part.content == whole.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    assert tail.content == whole.content[-10:]
    assert beyond.status_code == 416


def test_a_finished_video_without_content_is_a_permanent_expired_error(
    sandbox, sandbox_openai, tmp_path: Path
) -> None:
    # The task says completed; the gap only shows when the content is fetched.
    sandbox.arm("create", "no_url")
    submission = sandbox_openai.submit(request())
    result, _ = wait_terminal(sandbox_openai, submission.upstream_id)
    assert result.state == "succeeded"
    with pytest.raises(ProviderError) as caught:
        sandbox_openai.download(submission.upstream_id, result, tmp_path / "v.mp4")
    assert (caught.value.permanent, caught.value.reason) == (True, "expired")
    assert not (tmp_path / "v.mp4").exists()


def test_the_content_comes_from_the_configured_gateway_even_on_loopback(
    sandbox, sandbox_openai, tmp_path: Path, settings
) -> None:
    # Unlike a link in an answer, the operator chose this host: it is trusted.
    submission = sandbox_openai.submit(request())
    result, _ = wait_terminal(sandbox_openai, submission.upstream_id)
    settings.STUDIO_ALLOW_PRIVATE_URLS = False
    assert (
        sandbox_openai.download(submission.upstream_id, result, tmp_path / "v.mp4") == "video/mp4"
    )
