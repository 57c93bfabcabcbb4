"""Edits end to end: through the page, the job engine and a real engine or the sandbox gateway."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from studio.engine.media import probe
from studio.models import Job, Mode, Status, Video
from studio.services import edits as edit_service
from studio.services import library
from tests.conftest import Cast
from tests.engine.helpers import decode_rgb
from tests.factories import drive as run
from tests.factories import encode, image_bytes, make_output, mask_pixels, mountsea_video, upload

pytestmark = pytest.mark.django_db(transaction=True)


def submit(cast: Cast, video: Video, action: str, data: dict[str, Any]) -> Job:
    before = set(Job.objects.values_list("pk", flat=True))
    answer = cast.client_for(cast.editor).post(f"/videos/{video.public_id}/{action}/", data)
    made = Job.objects.exclude(pk__in=before).get()
    # Stays on the video's page, at the new job's card.
    location = f"/videos/{video.public_id}/#job-{made.public_id}"
    assert answer.status_code == 302 and answer["Location"] == location, answer
    return made


def finished(job: Job) -> Video:
    job = run(job)
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    return Video.objects.get(job=job)


def test_gateway_edits_each_send_one_create_and_become_children_in_the_lineage(
    cast: Cast, sandbox: Any
) -> None:
    source = mountsea_video(cast.project, cast.editor)
    extended = finished(
        submit(cast, source, "extend", {"route": "mountsea:veo31_fast", "prompt": "it rolls on"})
    )
    assert extended.parent == source and extended.media_id
    assert extended.duration_seconds == pytest.approx(source.duration_seconds + 2, abs=0.1)
    assert extended.job.cost_credits == 40
    # An extension can be extended again, and not reshot.
    again = finished(submit(cast, extended, "extend", {"route": "mountsea:veo31_quality"}))
    assert again.parent == extended
    reshot = finished(
        submit(cast, source, "reshoot", {"route": "mountsea:reshoot", "motion_type": "FORWARD"})
    )
    mask = "data:image/jpeg;base64," + base64.b64encode(encode(mask_pixels(640, 360))).decode()
    inserted = finished(
        submit(
            cast,
            source,
            "insert",
            {"route": "mountsea:object_insert", "prompt": "a gull", "mask_data": mask},
        )
    )
    assert {reshot.parent, inserted.parent} == {source}
    stats = sandbox.stats()
    assert stats["creates"] == {
        "/gemini/video/generate": 1,
        "/gemini/video/extend": 2,
        "/gemini/video/reshoot": 1,
        "/gemini/video/object/insert": 1,
    }
    bodies = {item["path"]: item["body"] for item in stats["create_bodies"]}
    assert bodies["/gemini/video/reshoot"] == {
        "videoId": source.media_id,
        "motionType": "RESHOOT_MOTION_TYPE_FORWARD",
    }
    assert bodies["/gemini/video/object/insert"]["prompt"] == "a gull"
    page = cast.client_for(cast.editor).get(f"/videos/{source.public_id}/").content.decode()
    for words in (
        "Extend · “it rolls on”",
        "Reshoot · Push forward",
        "Object insertion · “a gull”",
    ):
        assert words in page, words


def test_local_edits_render_real_children_of_the_video(cast: Cast) -> None:
    source = make_output(cast.project, cast.editor, real=True, size=(320, 180), seconds=1.0)
    extended = finished(submit(cast, source, "extend", {"route": "local:draft"}))
    assert (extended.width, extended.height) == (320, 180)
    assert extended.duration_seconds == pytest.approx(5.0, abs=0.1)
    assert extended.parent == source and extended.job.mode == Mode.EXTEND
    reshot = finished(
        submit(cast, source, "reshoot", {"route": "local:draft", "motion_type": "BACKWARD"})
    )
    assert reshot.duration_seconds == pytest.approx(1.0, abs=0.1)
    recall = cast.client_for(cast.viewer).get(f"/videos/{reshot.public_id}/").content.decode()
    assert "<dt>Camera move</dt><dd>Pull backward</dd>" in recall
    reference = library.store_upload(
        cast.team, None, upload("red.png", image_bytes(color=(230, 20, 20))).file, "red.png"
    ).image
    inserted = finished(
        submit(
            cast,
            source,
            "insert",
            {"route": "local:draft", "prompt": "a red box", "image": str(reference.public_id)},
        )
    )
    assert inserted.job.inputs.get().image == reference
    path = Path(inserted.file.path)
    assert probe(path).frame_count == 24
    # The default place is the lower right: red there, the source elsewhere.
    frame = decode_rgb(path)[0]
    assert frame[120:150, 200:280, 0].mean() > 180 and frame[120:150, 200:280, 1].mean() < 80


def test_the_scene_builder_extends_through_one_call(cast: Cast) -> None:
    source = make_output(cast.project, cast.editor, real=True, size=(320, 180), seconds=1.0)
    job = edit_service.extend_video(source, cast.editor, prompt="and then")
    assert (job.mode, job.provider, job.source_video) == (Mode.EXTEND, "local", source)
    assert finished(job).duration_seconds > source.duration_seconds + 3
