"""Jobs on the local engine go through the same state machine, storage and lineage."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from studio.jobs.create import create_job
from studio.models import FailReason, ReferenceImage, Status, Video, VideoKind
from tests.conftest import Cast
from tests.factories import drive, request_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_local_text2video_job_renders_stores_and_probes_its_video(cast: Cast) -> None:
    job = drive(
        request_job(
            cast.project,
            cast.editor,
            params={"aspect_ratio": "16:9", "duration_seconds": 4, "seed": 7},
        )
    )
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    video = Video.objects.get(job=job)
    assert (video.width, video.height, video.codec) == (1280, 720, "h264")
    assert 3.9 <= video.duration_seconds <= 4.1
    assert video.poster.name.endswith(".jpg") and video.thumbnail.name.endswith(".jpg")
    assert video.parent is None
    assert job.progress == 100
    assert job.cost_credits == 0
    assert list(job.events.values_list("to_status", flat=True)) == [
        "draft",
        "submitting",
        "running",
        "succeeded",
    ]


def test_upscale_and_gif_of_a_result_are_children_in_the_lineage(cast: Cast) -> None:
    source = Video.objects.get(job=drive(request_job(cast.project, cast.editor)))
    upscale = drive(
        create_job(
            project=cast.project,
            user=cast.editor,
            provider="local",
            model="draft",
            mode="upscale",
            source_video=source,
            params={"target": "1080p"},
        )
    )
    gif = drive(
        create_job(
            project=cast.project,
            user=cast.editor,
            provider="local",
            model="draft",
            mode="gif",
            source_video=source,
            params={"fps": 10, "width": 320},
        )
    )
    assert upscale.status == gif.status == Status.SUCCEEDED
    big = Video.objects.get(job=upscale)
    assert (big.width, big.height, big.parent_id) == (1920, 1080, source.pk)
    animated = Video.objects.get(job=gif)
    assert animated.kind == VideoKind.GIF and animated.content_type == "image/gif"
    assert animated.parent_id == source.pk and animated.width == 320
    assert set(source.children.values_list("pk", flat=True)) == {big.pk, animated.pk}


def test_a_broken_input_image_fails_the_job_clearly_and_leaves_no_file(cast: Cast) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"truncated garbage" * 10
    image = ReferenceImage(
        team=cast.team,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="image/png",
        width=640,
        height=360,
        size_bytes=len(data),
    )
    image.file.save("broken.png", ContentFile(data), save=False)
    image.save()
    job = create_job(
        project=cast.project,
        user=cast.editor,
        provider="local",
        model="draft",
        mode="img2video",
        prompt_text="Make it move",
        images=[(image, "start")],
        params={"aspect_ratio": "16:9", "duration_seconds": 4},
    )
    job = drive(job)
    assert (job.status, job.fail_reason) == (Status.FAILED, FailReason.ENGINE)
    assert job.error_message and "Traceback" not in job.error_message
    assert not Video.objects.exists()
    # The worker keeps working after a failed job.
    assert drive(request_job(cast.project, cast.editor)).status == Status.SUCCEEDED
