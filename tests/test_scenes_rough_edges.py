"""Rough edges found by trying Studio as a new user (issue 12, item 4)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from studio.engine.media import probe
from studio.engine.motion import img2video
from studio.models import Job, Mode, Status, VideoKind
from studio.services import library
from tests.conftest import Cast
from tests.factories import drive, make_job, make_output, make_video, member_client, request_job


def noise_png(width: int, height: int, seed: int = 1) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.django_db
def test_a_gif_asked_for_at_12_fps_is_labelled_12_fps(cast: Cast):
    source = make_output(cast.project, cast.editor)
    job = make_job(
        cast.project, cast.editor, mode=Mode.GIF, prompt_text="", params={"fps": 12, "width": 480}
    )
    # GIF frame delays are whole hundredths: 12 fps is stored, and probed, as 12.5.
    gif = make_video(job, kind=VideoKind.GIF, parent=source)
    type(gif).objects.filter(pk=gif.pk).update(fps=12.5)
    body = cast.client_for(cast.editor).get(f"/videos/{gif.public_id}/").content.decode()
    assert "<span>12 fps</span>" in body
    assert "13 fps" not in body


@pytest.mark.django_db
def test_a_removal_results_subtitle_names_the_mode_once(cast: Cast):
    video = make_output(
        cast.project, cast.editor, provider="mountsea", model="object_remove", mode=Mode.REMOVAL
    )
    body = cast.client_for(cast.editor).get(f"/videos/{video.public_id}/").content.decode()
    assert "Object removal · Object removal" not in body
    assert body.count("Object removal ·") >= 1


@pytest.mark.django_db
def test_uploading_six_images_shows_one_banner(cast: Cast):
    client = member_client(cast.team, cast.editor)
    files = [
        SimpleUploadedFile(f"ref-{i}.png", noise_png(64, 48, seed=i), "image/png") for i in range(6)
    ]
    response = client.post("/library/", {"images": files})
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert [message for message in shown if "library" in message] == [
        "6 images added to your library."
    ]
    assert cast.team.reference_images.count() == 6


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "data", "mode"),
    [
        ("upscale", {"target": "1080p"}, Mode.UPSCALE),
        ("gif", {"fps": "12", "width": "320"}, Mode.GIF),
    ],
)
def test_upscale_and_gif_stay_on_the_video_page_and_show_the_new_job(
    cast: Cast, action: str, data: dict[str, str], mode: str
):
    video = make_output(cast.project, cast.editor, size=(640, 360))
    client = cast.client_for(cast.editor)
    response = client.post(f"/videos/{video.public_id}/{action}/", data)
    job = Job.objects.get(mode=mode)
    assert response["Location"] == f"/videos/{video.public_id}/#job-{job.public_id}"
    page = client.get(response["Location"]).content.decode()
    assert f'id="job-{job.public_id}"' in page
    assert 'id="job-poller"' in page


@pytest.mark.parametrize("aspect_ratio", ["16:9", "9:16"])
def test_a_tiny_reference_image_makes_a_frames_to_video_draft(tmp_path: Path, aspect_ratio: str):
    # 94x70 (and its portrait twin) once put Pillow's crop box a hair below zero.
    size = (94, 70) if aspect_ratio == "16:9" else (70, 94)
    image = tmp_path / "tiny.png"
    image.write_bytes(noise_png(*size))
    dest = tmp_path / "out.mp4"
    img2video([image], "A small start", aspect_ratio, 4, dest)
    assert probe(dest).duration_seconds == pytest.approx(4, abs=0.1)


@pytest.mark.django_db(transaction=True)
def test_a_local_job_from_a_94x70_reference_succeeds(cast: Cast):
    stored = library.store_upload(
        cast.team, cast.editor, io.BytesIO(noise_png(94, 70)), "tiny.png"
    ).image
    job = drive(
        request_job(
            cast.project,
            cast.editor,
            mode=Mode.IMG2VIDEO,
            images=[(stored, "start")],
            params={"aspect_ratio": "16:9", "duration_seconds": 4},
        )
    )
    assert job.status == Status.SUCCEEDED, job.error_message
