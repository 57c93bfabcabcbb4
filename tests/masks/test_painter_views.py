"""The painter page, the removal submit, and the media the painter loads."""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from studio.models import Job, Mask, Mode, Status, Video
from studio.services import masks as mask_service
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def painter_url(video: Video) -> str:
    return f"/videos/{video.public_id}/remove/"


def data_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def post(client: Client, video: Video, **fields: Any) -> Any:
    fields.setdefault("frame_seconds", "0")
    fields.setdefault("provider", "mountsea")
    return client.post(painter_url(video), fields)


@pytest.fixture
def mountsea_video(cast: Cast, mountsea_on: None) -> Video:
    return factories.make_output(
        cast.project,
        cast.owner,
        **factories.PAINTER_CLIP,
        provider="mountsea",
        model="veo31_fast",
        media_id="CAUSJDabc",
    )


def nothing_submitted() -> bool:
    return not Job.objects.filter(mode=Mode.REMOVAL).exists() and not Mask.objects.exists()


# The page


def test_editor_sees_the_painter_at_the_videos_native_size(cast: Cast, video: Video) -> None:
    response = cast.client_for(cast.editor).get(painter_url(video))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-width="640"' in html and 'data-height="360"' in html
    assert 'width="640" height="360"' in html
    assert reverse("media_video", args=[video.public_id]) in html
    assert reverse("video_detail", args=[video.public_id]) in html
    assert "Remove object" in html


def test_only_a_first_frame_route_tells_the_painter_so(cast: Cast, mountsea_video: Video) -> None:
    html = cast.client_for(cast.editor).get(painter_url(mountsea_video)).content.decode()
    mountsea = re.search(r'<input[^>]*value="mountsea"[^>]*>', html)
    local = re.search(r'<input[^>]*value="local"[^>]*>', html)
    assert mountsea is not None and local is not None
    mountsea, local = mountsea.group(0), local.group(0)
    assert "data-first-frame-only" in mountsea
    assert 'data-first-frame-message="Mountsea tracks the object from the first frame' in mountsea
    assert "data-first-frame" not in local


def test_the_painter_page_has_no_inline_scripts(cast: Cast, video: Video) -> None:
    response = cast.client_for(cast.owner).get(painter_url(video))
    assert response.status_code == 200
    html = response.content.decode()
    assert "mask-painter.js" in html  # the loop below has scripts to look at
    for chunk in html.split("<script")[1:]:
        assert chunk.lstrip().startswith("src=") or " src=" in chunk.split(">")[0]
    assert " onclick=" not in html and " onload=" not in html


def test_outsider_gets_404_for_another_teams_painter(cast: Cast, video: Video) -> None:
    client = cast.client_for(cast.outsider)
    assert client.get(painter_url(video)).status_code == 404
    response = post(client, video, mask_data=data_url(factories.mask_jpeg()), provider="local")
    assert response.status_code == 404
    assert nothing_submitted()


def test_viewer_gets_403_for_the_painter(cast: Cast, video: Video) -> None:
    client = cast.client_for(cast.viewer)
    assert client.get(painter_url(video)).status_code == 403
    response = post(client, video, mask_data=data_url(factories.mask_jpeg()), provider="local")
    assert response.status_code == 403
    assert nothing_submitted()


def test_an_unknown_video_is_404(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    assert client.get(f"/videos/{uuid.uuid4()}/remove/").status_code == 404


def test_the_painter_refuses_other_methods(cast: Cast, video: Video) -> None:
    assert cast.client_for(cast.owner).put(painter_url(video)).status_code == 405


def test_a_running_video_shows_why_it_cannot_be_edited(cast: Cast) -> None:
    video = factories.make_output(
        cast.project, cast.owner, **factories.PAINTER_CLIP, status=Status.RUNNING
    )
    client = cast.client_for(cast.owner)
    response = client.get(painter_url(video))
    assert response.status_code == 200
    assert "not finished" in response.content.decode()
    assert "data-mask-painter" not in response.content.decode()
    response = post(client, video, mask_data=data_url(factories.mask_jpeg()), provider="local")
    assert response.status_code == 409
    assert "not finished" in response.content.decode()
    assert nothing_submitted()


def test_unavailable_routes_are_shown_with_their_reason(cast: Cast, video: Video) -> None:
    html = cast.client_for(cast.owner).get(painter_url(video)).content.decode()
    assert "Mountsea can only edit videos it made itself" in html
    assert 'id="route-mountsea"\n                 disabled' in html or "route-off" in html


# Bad masks: a clear message, nothing submitted


@pytest.mark.parametrize(
    ("mask_data", "message"),
    [
        (data_url(b"this is not an image at all"), "not an image"),
        ("data:image/jpeg;base64,!!!notbase64", "not a base64 image"),
        (data_url(factories.mask_jpeg(360, 640)), "aspect ratios differ"),
        (data_url(factories.mask_jpeg(boxes=[(0, 0, 640, 360)])), "whole frame"),
        (data_url(factories.mask_jpeg(boxes=[])), "empty"),
        ("data:image/jpeg;base64," + "A" * (50 * 1024 * 1024), "larger than 10 MB"),
    ],
    ids=["not-an-image", "not-base64", "wrong-aspect", "all-white", "all-black", "50-mb"],
)
def test_a_forged_painted_mask_is_refused_with_a_message(
    cast: Cast, mountsea_video: Video, mask_data: str, message: str
) -> None:
    response = post(cast.client_for(cast.editor), mountsea_video, mask_data=mask_data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert nothing_submitted()


def test_a_50_mb_uploaded_file_is_refused(cast: Cast, mountsea_video: Video) -> None:
    upload = SimpleUploadedFile("mask.jpg", b"\xff\xd8" + b"\0" * (50 * 1024 * 1024))
    response = post(cast.client_for(cast.editor), mountsea_video, mask_file=upload)
    assert response.status_code == 200
    assert "larger than 10 MB" in response.content.decode()
    assert nothing_submitted()


def test_a_post_without_any_mask_is_refused(cast: Cast, mountsea_video: Video) -> None:
    response = post(cast.client_for(cast.editor), mountsea_video)
    assert "Paint over the object to remove" in response.content.decode()
    assert nothing_submitted()


def test_a_frame_past_the_end_is_refused(cast: Cast, mountsea_video: Video) -> None:
    response = post(
        cast.client_for(cast.editor),
        mountsea_video,
        mask_data=data_url(factories.mask_jpeg()),
        frame_seconds="30",
    )
    assert "past the end" in response.content.decode()
    assert nothing_submitted()


def test_a_route_that_is_not_offered_is_refused(cast: Cast, video: Video) -> None:
    # The local video cannot go to Mountsea, whatever the form says.
    response = post(cast.client_for(cast.editor), video, mask_data=data_url(factories.mask_jpeg()))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert nothing_submitted()


def test_mountsea_refuses_a_mask_painted_on_a_later_frame(
    cast: Cast, mountsea_video: Video
) -> None:
    response = post(
        cast.client_for(cast.editor),
        mountsea_video,
        mask_data=data_url(factories.mask_jpeg()),
        frame_seconds="1.0",
    )
    assert "tracks the object from the first frame" in response.content.decode()
    assert nothing_submitted()


def test_a_mask_of_another_video_cannot_be_reused(cast: Cast, mountsea_video: Video) -> None:
    other = factories.make_output(cast.project, cast.owner, **factories.PAINTER_CLIP)
    normalized = mask_service.normalize(factories.mask_jpeg(), mask_service.probe(other))
    foreign = mask_service.store(other, normalized, user=cast.owner, frame_seconds=0)
    response = post(cast.client_for(cast.editor), mountsea_video, reuse_mask=str(foreign.public_id))
    assert "Select a valid choice" in response.content.decode()
    assert not Job.objects.filter(mode=Mode.REMOVAL).exists()


# Submitting


def test_a_painted_mask_is_stored_at_native_size_and_the_removal_queued(
    cast: Cast, mountsea_video: Video
) -> None:
    # Painted on a screen-sized canvas of the same shape: the server brings it to 640x360.
    painted = factories.mask_jpeg(320, 180, boxes=[(40, 30, 79, 69)])
    response = post(
        cast.client_for(cast.editor), mountsea_video, mask_data=data_url(painted), prompt="sand"
    )
    assert response.status_code == 302
    job = Job.objects.get(mode=Mode.REMOVAL)
    assert (job.provider, job.model, job.status) == ("mountsea", "object_remove", Status.DRAFT)
    assert job.source_video == mountsea_video and job.prompt_text == "sand"
    assert job.created_by == cast.editor
    mask = job.mask
    assert mask is not None and mask.video == mountsea_video and mask.team == cast.team
    assert (mask.width, mask.height) == (640, 360)
    with mask.file.open("rb") as handle:
        pixels = np.asarray(Image.open(handle).convert("L"))
    assert pixels.shape == (360, 640)
    assert pixels[100, 120] > 200 and pixels[10, 10] < 50
    assert mask.coverage == pytest.approx(80 * 80 / (640 * 360), rel=0.05)


def test_an_uploaded_png_mask_works_without_javascript(cast: Cast, mountsea_video: Video) -> None:
    upload = SimpleUploadedFile(
        "mask.png", factories.encode(factories.mask_pixels(640, 360), "PNG"), "image/png"
    )
    response = post(cast.client_for(cast.owner), mountsea_video, mask_file=upload)
    assert response.status_code == 302
    assert Job.objects.get(mode=Mode.REMOVAL).mask.width == 640  # type: ignore[union-attr]


def test_an_earlier_mask_of_the_video_can_be_reused(cast: Cast, mountsea_video: Video) -> None:
    normalized = mask_service.normalize(factories.mask_jpeg(), mask_service.probe(mountsea_video))
    earlier = mask_service.store(mountsea_video, normalized, user=cast.owner, frame_seconds=0)
    client = cast.client_for(cast.editor)
    html = client.get(painter_url(mountsea_video)).content.decode()
    assert reverse("media_mask", args=[earlier.public_id]) in html
    response = post(client, mountsea_video, reuse_mask=str(earlier.public_id))
    assert response.status_code == 302
    job = Job.objects.get(mode=Mode.REMOVAL)
    assert job.mask == earlier
    assert Mask.objects.count() == 1


def test_the_same_form_posted_twice_makes_one_job_and_one_mask(
    cast: Cast, mountsea_video: Video
) -> None:
    client = cast.client_for(cast.editor)
    key = str(uuid.uuid4())
    for _ in range(2):
        response = post(
            client, mountsea_video, mask_data=data_url(factories.mask_jpeg()), idempotency_key=key
        )
        assert response.status_code == 302
    assert Job.objects.filter(mode=Mode.REMOVAL).count() == 1
    assert Mask.objects.count() == 1


# Media the painter loads (served by the creator UI's membership-checked views)


def video_url(video: Video) -> str:
    return reverse("media_video", args=[video.public_id])


def mask_url(mask: Mask) -> str:
    return reverse("media_mask", args=[mask.public_id])


def test_the_painters_video_can_be_sought_by_byte_ranges(cast: Cast, video: Video) -> None:
    part = cast.client_for(cast.editor).get(video_url(video), HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == factories.clip_bytes(640, 360, 2.0)[100:200]
    part.close()


def test_outsider_cannot_load_the_video_or_its_masks(cast: Cast, video: Video) -> None:
    normalized = mask_service.normalize(factories.mask_jpeg(), mask_service.probe(video))
    mask = mask_service.store(video, normalized, user=cast.owner, frame_seconds=0)
    client = cast.client_for(cast.outsider)
    assert client.get(video_url(video)).status_code == 404
    assert client.get(mask_url(mask)).status_code == 404
    viewer = cast.client_for(cast.viewer).get(mask_url(mask))
    assert viewer.status_code == 200 and viewer["Content-Type"] == "image/jpeg"
    viewer.close()


def test_a_hidden_video_cannot_be_painted(cast: Cast, video: Video) -> None:
    Video.objects.filter(pk=video.pk).update(hidden_at=timezone.now())
    assert cast.client_for(cast.owner).get(painter_url(video)).status_code == 403


def test_a_duplicate_submit_that_wins_the_race_leaves_no_orphan_mask(
    cast: Cast, mountsea_video: Video, monkeypatch: Any
) -> None:
    # The second request looks for the key before the first has committed,
    # then finds the first job once it creates its own: its mask must go.
    key = uuid.uuid4()
    probe = mask_service.probe
    normalized = mask_service.normalize(factories.mask_jpeg(), probe(mountsea_video))
    raced = []

    def probe_while_the_other_request_commits(video: Video) -> Any:
        if not raced:
            raced.append(True)
            mask_service.submit_removal(
                video=video,
                user=cast.editor,
                provider="mountsea",
                frame_seconds=0,
                mask=normalized,
                idempotency_key=key,
            )
        return probe(video)

    monkeypatch.setattr(mask_service, "probe", probe_while_the_other_request_commits)
    job = mask_service.submit_removal(
        video=mountsea_video,
        user=cast.editor,
        provider="mountsea",
        frame_seconds=0,
        mask=normalized,
        idempotency_key=key,
    )
    assert Job.objects.filter(mode=Mode.REMOVAL).count() == 1
    assert Mask.objects.count() == 1
    assert job.mask == Mask.objects.get()
    files = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file() and "masks" in p.parts]
    assert len(files) == 1
