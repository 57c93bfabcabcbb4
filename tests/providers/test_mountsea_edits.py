"""Mountsea's extend, reshoot and insert: the documented bodies, and what is refused unsent."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from studio.providers.base import (
    MOTION_TYPES,
    EditSource,
    ProviderError,
    SourceVideo,
    SubmitRequest,
)
from studio.providers.mountsea import MountseaProvider
from tests.factories import mask_file

SOURCE = SourceVideo(Path("v.mp4"), 640, 360, media_id="CAUSJDabc", task_id="task-1")


def request(**kw: object) -> SubmitRequest:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "mode": "extend",
        "model": "veo31_fast",
        "prompt": "",
        "source_video": SOURCE,
    }
    fields.update(kw)
    return SubmitRequest(**fields)  # type: ignore[arg-type]


def sent(recorder) -> tuple[str, dict]:
    return recorder.last.url.path, json.loads(recorder.last.content)


def test_extend_sends_the_media_id_the_model_and_the_prompt_when_given(mountsea_replay) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    provider.submit(request(prompt="the boat sails on"))
    assert sent(recorder) == (
        "/gemini/video/extend",
        {"videoId": "CAUSJDabc", "model": "veo31_fast", "prompt": "the boat sails on"},
    )
    provider.submit(request(model="veo31_quality"))
    assert sent(recorder)[1] == {"videoId": "CAUSJDabc", "model": "veo31_quality"}


def test_extend_falls_back_to_the_task_id_when_the_result_had_no_media_id(
    mountsea_replay,
) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    provider.submit(request(source_video=SourceVideo(Path("v.mp4"), 640, 360, task_id="task-9")))
    assert sent(recorder)[1]["videoId"] == "task-9"


def test_reshoot_sends_the_prefixed_motion_type(mountsea_replay) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    provider.submit(request(mode="reshoot", model="reshoot", params={"motion_type": "FORWARD"}))
    assert sent(recorder) == (
        "/gemini/video/reshoot",
        {"videoId": "CAUSJDabc", "motionType": "RESHOOT_MOTION_TYPE_FORWARD"},
    )


def test_insert_sends_the_prompt_and_the_mask_only_when_there_is_one(
    mountsea_replay, tmp_path: Path
) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    provider.submit(request(mode="insert", model="object_insert", prompt="a red kite"))
    assert sent(recorder) == (
        "/gemini/video/object/insert",
        {"videoId": "CAUSJDabc", "prompt": "a red kite"},
    )
    mask = mask_file(tmp_path / "mask.jpg")
    provider.submit(
        request(mode="insert", model="object_insert", prompt="a red kite", mask_path=mask)
    )
    body = sent(recorder)[1]
    assert set(body) == {"videoId", "prompt", "imageMask"}
    assert base64.b64decode(body["imageMask"]) == mask.read_bytes()


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"model": "veo3_fast"}, "cannot do extend"),
        ({"source_video": None}, "id is unknown"),
        ({"mode": "reshoot", "model": "reshoot", "params": {"motion_type": "SPIN"}}, "camera move"),
        ({"mode": "reshoot", "model": "reshoot", "params": {}}, "camera move"),
        (
            {
                "mode": "reshoot",
                "model": "reshoot",
                "params": {"motion_type": "UP"},
                "source_video": SourceVideo(Path("v.mp4"), 1, 1, task_id="t"),
            },
            "mediaId is unknown",
        ),
        ({"mode": "insert", "model": "object_insert", "prompt": " "}, "needs a prompt"),
    ],
)
def test_bad_edits_are_refused_before_sending(mountsea_replay, kw: dict, words: str) -> None:
    provider, recorder = mountsea_replay("mountsea/create_201")
    with pytest.raises(ProviderError, match=words) as caught:
        provider.submit(request(**kw))
    assert caught.value.permanent and caught.value.reason == "validation"
    assert recorder.requests == []


def test_the_edit_rules_follow_the_documentation() -> None:
    provider = MountseaProvider(api_key="k")
    made = EditSource(made_by="mountsea", extended=False, media_id="CAUS", task_id="t")
    extended = EditSource(made_by="mountsea", extended=True, media_id="", task_id="t2")
    elsewhere = EditSource(made_by="local", extended=False, media_id="", task_id="")
    no_media = EditSource(made_by="mountsea", extended=False, media_id="", task_id="t3")
    for mode in ("extend", "reshoot", "insert"):
        assert provider.edit_refusal(mode, made) == ""
        assert "videos it made" in provider.edit_refusal(mode, elsewhere)
    # Extended videos can be extended again, by task id, but not reshot or edited.
    assert provider.edit_refusal("extend", extended) == ""
    assert provider.edit_refusal("reshoot", extended) == "Mountsea cannot reshoot extended videos."
    assert "extended videos" in provider.edit_refusal("insert", extended)
    assert "extended videos" in provider.removal_refusal(extended)
    assert provider.edit_refusal("extend", no_media) == ""
    assert "mediaId" in provider.edit_refusal("reshoot", no_media)


def test_every_motion_type_studio_offers_is_a_documented_one() -> None:
    from sandbox.contracts import MOUNTSEA_MOTIONS

    assert {"RESHOOT_MOTION_TYPE_" + name for name in MOTION_TYPES} < set(MOUNTSEA_MOTIONS)
