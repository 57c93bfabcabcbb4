"""Extend, reshoot and insert against the sandbox gateway over real HTTP, with its strictness."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from studio.engine.media import probe
from studio.providers.base import ProviderError, SourceVideo, SubmitRequest
from tests.factories import encode, mask_pixels
from tests.providers.conftest import wait_terminal


def request(**kw: object) -> SubmitRequest:
    fields: dict[str, object] = {"job_id": "j", "mode": "text2video", "model": "veo31_fast"}
    fields.update({"prompt": "a red ball on a beach", **kw})
    return SubmitRequest(**fields)  # type: ignore[arg-type]


def finish(provider, req: SubmitRequest):
    submission = provider.submit(req)
    result, _ = wait_terminal(provider, submission.upstream_id)
    assert result.state == "succeeded", result.error_message
    return submission, result


def source_of(submission, result) -> SourceVideo:
    return SourceVideo(
        Path("v.mp4"), 640, 360, media_id=result.media_id, task_id=submission.upstream_id
    )


def test_an_extension_is_a_longer_real_mp4_and_can_be_extended_again(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    first = finish(sandbox_mountsea, request())
    extended = finish(
        sandbox_mountsea, request(mode="extend", prompt="", source_video=source_of(*first))
    )
    again = finish(
        sandbox_mountsea,
        request(mode="extend", model="veo31_quality", source_video=source_of(*extended)),
    )
    lengths = []
    for submission, result in (first, extended, again):
        dest = tmp_path / f"{submission.upstream_id}.mp4"
        sandbox_mountsea.download(submission.upstream_id, result, dest)
        lengths.append(round(probe(dest).duration_seconds))
    assert lengths == [2, 4, 6]
    bodies = [item["body"] for item in sandbox.stats()["create_bodies"]]
    assert bodies[1] == {"videoId": first[1].media_id, "model": "veo31_fast"}


def test_an_extended_video_cannot_be_reshot_or_inserted_into(sandbox, sandbox_mountsea) -> None:
    extended = finish(
        sandbox_mountsea,
        request(mode="extend", source_video=source_of(*finish(sandbox_mountsea, request()))),
    )
    for kw in (
        {"mode": "reshoot", "model": "reshoot", "params": {"motion_type": "UP"}},
        {"mode": "insert", "model": "object_insert", "prompt": "a kite"},
    ):
        with pytest.raises(ProviderError, match="extended videos cannot") as caught:
            sandbox_mountsea.submit(request(source_video=source_of(*extended), **kw))
        assert caught.value.reason == "validation"
    assert sandbox.stats()["creates"] == {"/gemini/video/generate": 1, "/gemini/video/extend": 1}


def test_a_reshoot_and_an_insert_with_a_mask_succeed(
    sandbox, sandbox_mountsea, tmp_path: Path
) -> None:
    source = source_of(*finish(sandbox_mountsea, request()))
    finish(
        sandbox_mountsea,
        request(
            mode="reshoot",
            model="reshoot",
            params={"motion_type": "DOLLY_IN_ZOOM_OUT"},
            source_video=source,
        ),
    )
    mask = tmp_path / "mask.jpg"
    mask.write_bytes(encode(mask_pixels(640, 360)))
    finish(
        sandbox_mountsea,
        request(
            mode="insert",
            model="object_insert",
            prompt="a kite",
            source_video=source,
            mask_path=mask,
        ),
    )
    bodies = sandbox.stats()["create_bodies"]
    assert bodies[1]["body"]["motionType"] == "RESHOOT_MOTION_TYPE_DOLLY_IN_ZOOM_OUT"
    assert bodies[2]["body"]["imageMask"].endswith("bytes>")


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/gemini/video/extend", {"model": "veo3_fast"}, "model must be one of"),
        ("/gemini/video/extend", {"model": "veo31_fast", "seed": 1}, "property seed should not"),
        ("/gemini/video/reshoot", {"motionType": "RESHOOT_MOTION_TYPE_SPIN"}, "motionType must"),
        ("/gemini/video/reshoot", {}, "motionType must"),
        ("/gemini/video/object/insert", {"prompt": ""}, "prompt should not be empty"),
        ("/gemini/video/object/insert", {"prompt": "a kite", "imageMask": "!!"}, "base64"),
        ("/gemini/video/object/insert", {"prompt": "a kite", "imageMask": "SMALL"}, "is 64x36"),
        ("/gemini/video/object/insert", {"prompt": "a kite", "imageMask": "BLACK"}, "all black"),
    ],
)
def test_the_sandbox_refuses_bad_edits_with_nests_400(
    sandbox, sandbox_mountsea, path: str, body: dict, words: str
) -> None:
    _, made = finish(sandbox_mountsea, request())
    masks = {
        "SMALL": base64.b64encode(encode(mask_pixels(64, 36))).decode(),
        "BLACK": base64.b64encode(encode(mask_pixels(640, 360) * 0)).decode(),
    }
    if body.get("imageMask") in masks:
        body = {**body, "imageMask": masks[body["imageMask"]]}
    headers = {"Authorization": f"Bearer {sandbox.key}"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        answer = client.post(path, json={"videoId": made.media_id, **body})
    assert answer.status_code == 400
    assert any(words in message for message in answer.json()["message"])
    assert sandbox.stats()["creates"] == {"/gemini/video/generate": 1}
