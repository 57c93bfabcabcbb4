"""Media on S3 play and seek in both delivery modes, after Studio's own checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from studio.services import masks, sharing
from studio.services.signing import signed_reference_url
from studio.storage import MediaStorage
from tests.conftest import Cast
from tests.factories import make_output, make_reference, mask_jpeg, member_client
from tests.s3_fixture import S3Bucket

pytestmark = pytest.mark.django_db

# 3 MB of a pattern that repeats every 251 bytes, so a wrong offset shows.
BODY = bytes(i % 251 for i in range(3 * 1024 * 1024))


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def video(cast: Cast, s3: S3Bucket) -> Any:
    video = make_output(cast.project, cast.editor)
    video.file.save("clip.mp4", ContentFile(BODY))
    return video


@pytest.fixture
def s3_gets(s3: S3Bucket) -> Iterator[list[str]]:
    """The Range header of every GetObject Studio sends to the bucket (from this thread)."""
    assert isinstance(default_storage, MediaStorage)
    events = default_storage.connection.meta.client.meta.events
    seen: list[str] = []

    def record(request: Any, **kwargs: Any) -> None:
        seen.append(request.headers.get("Range", b"whole object").decode())

    events.register("before-send.s3.GetObject", record)
    yield seen
    events.unregister("before-send.s3.GetObject", record)


def test_the_video_bytes_are_in_the_bucket_and_not_on_disk(
    video: Any, s3: S3Bucket, settings: Any
) -> None:
    assert video.file.name in s3.objects()
    assert s3.read(video.file.name) == BODY
    assert {video.poster.name, video.thumbnail.name} <= set(s3.objects())
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_redirect_sends_a_member_to_a_short_lived_uncached_presigned_url(
    cast: Cast, video: Any, s3: S3Bucket
) -> None:
    response = member_client(cast.team, cast.viewer).get(f"/files/videos/{video.public_id}/file")
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(f"{s3.endpoint}/{s3.name}/")
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    followed = httpx.get(location)
    assert followed.status_code == 200
    assert followed.content == BODY
    assert followed.headers["content-type"] == "video/mp4"
    assert followed.headers["content-disposition"] == "inline"
    # The bytes may be kept as briefly as any media response; the redirect not at all.
    assert followed.headers["cache-control"] == "private, max-age=300"


def test_redirect_seeking_is_answered_by_the_bucket_with_exactly_those_bytes(
    cast: Cast, video: Any
) -> None:
    client = member_client(cast.team, cast.viewer)
    response = client.get(f"/files/videos/{video.public_id}/file", HTTP_RANGE="bytes=1000000-")
    assert response.status_code == 302
    seek = httpx.get(response["Location"], headers={"Range": "bytes=1000000-1065535"})
    assert seek.status_code == 206
    assert seek.headers["content-range"] == f"bytes 1000000-1065535/{len(BODY)}"
    assert seek.content == BODY[1000000:1065536]


def test_redirect_of_a_download_names_the_file_as_an_attachment(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    response = client.get(f"/files/videos/{video.public_id}/file?download=1")
    followed = httpx.get(response["Location"])
    expected = f'attachment; filename="studio-{video.public_id.hex[:8]}.mp4"'
    assert followed.headers["content-disposition"] == expected


def test_stream_seeking_gets_206_and_fetches_only_that_range_from_the_bucket(
    cast: Cast, video: Any, s3: S3Bucket, s3_gets: list[str]
) -> None:
    s3.use_delivery("stream")
    client = member_client(cast.team, cast.viewer)
    url = f"/files/videos/{video.public_id}/file"
    response = client.get(url, HTTP_RANGE="bytes=2000000-2099999")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 2000000-2099999/{len(BODY)}"
    assert _body(response) == BODY[2000000:2100000]
    assert s3_gets == ["bytes=2000000-2099999"]
    tail = client.get(url, HTTP_RANGE="bytes=-10")
    assert _body(tail) == BODY[-10:]
    assert s3_gets[-1] == f"bytes={len(BODY) - 10}-{len(BODY) - 1}"


def test_stream_serves_the_whole_file_with_validators(cast: Cast, video: Any, s3: S3Bucket) -> None:
    s3.use_delivery("stream")
    client = member_client(cast.team, cast.viewer)
    url = f"/files/videos/{video.public_id}/file"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(BODY))
    assert response["Accept-Ranges"] == "bytes"
    assert _body(response) == BODY
    again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize("delivery", ["redirect", "stream"])
def test_an_outsider_and_a_hidden_video_get_404_and_no_url(
    cast: Cast, video: Any, s3: S3Bucket, delivery: str
) -> None:
    s3.use_delivery(delivery)
    url = f"/files/videos/{video.public_id}/file"
    assert cast.client_for(cast.outsider).get(url).status_code == 404
    video.hidden_at = timezone.now()
    video.save(update_fields=["hidden_at"])
    hidden = member_client(cast.team, cast.viewer).get(url)
    assert hidden.status_code == 404
    assert "Location" not in hidden


@pytest.mark.parametrize("delivery", ["redirect", "stream"])
def test_posters_thumbnails_and_reference_images_come_from_the_bucket(
    cast: Cast, video: Any, s3: S3Bucket, delivery: str
) -> None:
    s3.use_delivery(delivery)
    image = make_reference(cast.team)
    client = member_client(cast.team, cast.viewer)
    for url, expected in [
        (f"/files/videos/{video.public_id}/poster", s3.read(video.poster.name)),
        (f"/files/videos/{video.public_id}/thumbnail", s3.read(video.thumbnail.name)),
        (f"/files/references/{image.public_id}", s3.read(image.file.name)),
    ]:
        response = client.get(url)
        if delivery == "redirect":
            assert response.status_code == 302, url
            response = httpx.get(response["Location"])
            assert response.status_code == 200
            assert response.content == expected
        else:
            assert response.status_code == 200, url
            assert _body(response) == expected
    # The reference thumbnail is made on first use, from the bucket into the bucket.
    thumb = client.get(f"/files/references/{image.public_id}/thumb")
    assert thumb.status_code == (302 if delivery == "redirect" else 200)
    assert [key for key in s3.objects() if "/thumbs/" in key]


@pytest.mark.parametrize("delivery", ["redirect", "stream"])
def test_a_shared_link_plays_and_seeks_from_the_bucket(
    cast: Cast, video: Any, s3: S3Bucket, delivery: str
) -> None:
    s3.use_delivery(delivery)
    link = sharing.share_video(video, cast.editor)
    response = Client().get(f"/s/v/{link.token}/file", HTTP_RANGE="bytes=5-9")
    if delivery == "redirect":
        assert response.status_code == 302
        response = httpx.get(response["Location"], headers={"Range": "bytes=5-9"})
        assert response.status_code == 206 and response.content == BODY[5:10]
    else:
        assert response.status_code == 206 and _body(response) == BODY[5:10]


@pytest.mark.parametrize("delivery", ["redirect", "stream"])
def test_a_signed_reference_link_serves_the_image_without_sign_in(
    cast: Cast, s3: S3Bucket, delivery: str
) -> None:
    s3.use_delivery(delivery)
    image = make_reference(cast.team)
    url = signed_reference_url(image).split("://", 1)[1].split("/", 1)[1]
    response = Client().get(f"/{url}")
    if delivery == "redirect":
        assert response.status_code == 302
        response = httpx.get(response["Location"])
        assert response.headers["content-type"] == image.content_type
        body = response.content
    else:
        assert response.status_code == 200
        body = _body(response)
    assert body == s3.read(image.file.name)


def test_a_bucket_that_stops_answering_gives_503_when_streaming(
    cast: Cast, video: Any, s3: S3Bucket
) -> None:
    s3.use_delivery("stream")
    s3.stop_answering()
    response = member_client(cast.team, cast.viewer).get(f"/files/videos/{video.public_id}/file")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"


def test_a_mask_is_streamed_even_in_redirect_mode_so_the_painter_can_read_its_pixels(
    cast: Cast, s3: S3Bucket
) -> None:
    source = make_output(cast.project, cast.editor)
    geometry = masks.Geometry(source.width, source.height, 1.0, 24.0)
    painted = masks.normalize(mask_jpeg(source.width, source.height), geometry)
    mask = masks.store(source, painted, user=cast.editor, frame_seconds=0.0)
    assert mask.file.name in s3.objects()
    response = member_client(cast.team, cast.viewer).get(f"/files/masks/{mask.public_id}")
    assert response.status_code == 200
    assert _body(response) == s3.read(mask.file.name)


def test_a_video_whose_object_is_gone_from_the_bucket_is_a_404_not_an_outage(
    cast: Cast, video: Any, s3: S3Bucket
) -> None:
    s3.use_delivery("stream")
    video.file.storage.delete(video.file.name)
    response = member_client(cast.team, cast.viewer).get(f"/files/videos/{video.public_id}/file")
    assert response.status_code == 404
