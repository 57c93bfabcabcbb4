"""With media on S3 everything Studio stores lands in the bucket, and is read back from it.

Each test lists the bucket with boto3 to prove where the bytes are, and that
the local media folder stayed empty.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from studio.engine.media import probe
from studio.jobs.create import create_job
from studio.models import Job, Mask, Mode, ReferenceImage, Status, Video, VideoKind
from studio.services import scenes
from studio.storage import local_copy
from tests import factories
from tests.conftest import Cast
from tests.factories import drive, image_bytes, member_client, request_job, upload
from tests.s3_fixture import S3Bucket

pytestmark = pytest.mark.django_db(transaction=True)


def _nothing_on_disk(settings: Any) -> bool:
    return not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def _keys_of(video: Video) -> set[str]:
    return {video.file.name, video.poster.name, video.thumbnail.name}


def test_an_uploaded_reference_image_lands_in_the_bucket(
    cast: Cast, s3: S3Bucket, settings: Any
) -> None:
    client = member_client(cast.team, cast.editor)
    response = client.post("/library/", {"images": [upload("a.png", image_bytes("PNG"))]})
    assert response.status_code == 302
    image = ReferenceImage.objects.get(team=cast.team)
    assert image.file.name in s3.objects()
    assert s3.read(image.file.name)[:8] == b"\x89PNG\r\n\x1a\n"
    assert _nothing_on_disk(settings)


def test_a_local_job_stores_its_video_poster_and_thumbnail_in_the_bucket(
    cast: Cast, s3: S3Bucket, settings: Any, tmp_path: Path
) -> None:
    job = drive(request_job(cast.project, cast.editor))
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    video = Video.objects.get(job=job)
    assert _keys_of(video) <= set(s3.objects())
    copy = tmp_path / "result.mp4"
    copy.write_bytes(s3.read(video.file.name))
    assert probe(copy).width == video.width
    assert s3.read(video.poster.name)[:3] == b"\xff\xd8\xff"  # a JPEG
    assert _nothing_on_disk(settings)


def test_upscale_and_gif_read_their_source_back_from_the_bucket(
    cast: Cast, s3: S3Bucket, settings: Any
) -> None:
    source = factories.make_output(cast.project, cast.editor, real=True, size=(320, 180))
    assert source.file.name in s3.objects()
    jobs = [
        create_job(
            project=cast.project,
            user=cast.editor,
            provider="local",
            model="draft",
            mode=mode,
            source_video=source,
            params=params,
        )
        for mode, params in [("upscale", {"target": "1080p"}), ("gif", {"fps": 8, "width": 160})]
    ]
    upscale, gif = (drive(job) for job in jobs)
    assert upscale.status == gif.status == Status.SUCCEEDED, [
        list(j.events.values_list("reason", flat=True)) for j in (upscale, gif)
    ]
    big, animated = Video.objects.get(job=upscale), Video.objects.get(job=gif)
    assert (big.width, big.height, big.parent_id) == (1920, 1080, source.pk)
    assert animated.kind == VideoKind.GIF and animated.file.name.endswith(".gif")
    assert _keys_of(big) | _keys_of(animated) <= set(s3.objects())
    assert s3.read(animated.file.name)[:6] == b"GIF89a"
    assert _nothing_on_disk(settings)


def test_a_painted_mask_and_its_local_removal_live_in_the_bucket(
    cast: Cast, s3: S3Bucket, settings: Any
) -> None:
    source = factories.make_output(cast.project, cast.owner, **factories.PAINTER_CLIP)
    painted = factories.mask_jpeg(source.width, source.height)
    response = cast.client_for(cast.editor).post(
        f"/videos/{source.public_id}/remove/",
        {
            "mask_data": "data:image/jpeg;base64," + base64.b64encode(painted).decode(),
            "frame_seconds": "0",
            "provider": "local",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    mask = Mask.objects.get(video=source)
    assert mask.file.name in s3.objects()
    job = drive(Job.objects.get(mode=Mode.REMOVAL, source_video=source))
    assert job.status == Status.SUCCEEDED, job.error_message
    result = Video.objects.get(job=job)
    assert _keys_of(result) <= set(s3.objects())
    assert _nothing_on_disk(settings)


def test_a_scene_export_reads_its_shots_from_the_bucket_and_stores_the_film_there(
    cast: Cast, s3: S3Bucket, settings: Any
) -> None:
    scene = scenes.create_scene(cast.project, cast.editor, "Opening")
    first = factories.make_output(cast.project, real=True, size=(320, 180), seconds=1.0)
    second = factories.make_output(cast.project, real=True, size=(320, 180), seconds=1.0)
    scenes.add_shot(scene, first)
    scenes.add_shot(scene, second)
    job = drive(scenes.export(scene, cast.editor))
    assert job.status == Status.SUCCEEDED, list(job.events.values_list("reason", flat=True))
    film = Video.objects.get(job=job)
    assert _keys_of(film) <= set(s3.objects())
    with local_copy(film.file) as path:
        assert probe(path).duration_seconds == pytest.approx(film.duration_seconds, abs=0.1)
    assert _nothing_on_disk(settings)


def test_a_frame_taken_into_the_library_is_read_from_and_stored_in_the_bucket(
    cast: Cast, s3: S3Bucket, settings: Any
) -> None:
    video = factories.make_output(cast.project, cast.editor, real=True, size=(320, 180))
    response = cast.client_for(cast.editor).post(f"/videos/{video.public_id}/frame/", {"at": "0.5"})
    assert response.status_code == 302
    image = ReferenceImage.objects.get(team=cast.team, source_video=video)
    assert (image.width, image.height) == (320, 180)
    assert image.file.name in s3.objects()
    assert _nothing_on_disk(settings)
