from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.http import http_date

from studio.views.delivery import BLOCK_SIZE, RangeNotSatisfiable, parse_range
from tests.conftest import Cast
from tests.factories import make_output, member_client

pytestmark = pytest.mark.django_db

BODY = bytes(range(256)) * 1024  # 256 KB: several blocks


def _body(response: Any) -> bytes:
    """Read the whole body; the test client closes a streamed response at its end
    (closing it by hand would also close the test database's connection)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def video(cast: Cast) -> Any:
    video = make_output(cast.project, cast.editor)
    video.file.save("clip.mp4", ContentFile(BODY))
    return video


def test_member_downloads_the_whole_file_with_validators(cast: Cast, video: Any) -> None:
    response = member_client(cast.team, cast.viewer).get(f"/files/videos/{video.public_id}/file")
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(BODY))
    assert response["Content-Type"] == "video/mp4"
    assert response["ETag"].startswith('"') and response["Last-Modified"]
    assert "private" in response["Cache-Control"]
    assert _body(response) == BODY


def test_a_range_request_gets_206_with_exactly_those_bytes(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    response = client.get(f"/files/videos/{video.public_id}/file", HTTP_RANGE="bytes=100-70000")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-70000/{len(BODY)}"
    assert response["Content-Length"] == str(70000 - 100 + 1)
    assert _body(response) == BODY[100:70001]


def test_open_ended_and_suffix_ranges(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    url = f"/files/videos/{video.public_id}/file"
    tail = client.get(url, HTTP_RANGE=f"bytes={len(BODY) - 10}-")
    assert tail.status_code == 206 and _body(tail) == BODY[-10:]
    suffix = client.get(url, HTTP_RANGE="bytes=-500")
    assert suffix["Content-Range"] == f"bytes {len(BODY) - 500}-{len(BODY) - 1}/{len(BODY)}"
    assert _body(suffix) == BODY[-500:]
    # Safari's first probe
    probe = client.get(url, HTTP_RANGE="bytes=0-1")
    assert probe.status_code == 206 and _body(probe) == BODY[:2]


def test_a_range_past_the_end_is_416(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    response = client.get(f"/files/videos/{video.public_id}/file", HTTP_RANGE=f"bytes={len(BODY)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(BODY)}"


def test_a_malformed_or_multiple_range_gets_the_whole_file(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    url = f"/files/videos/{video.public_id}/file"
    for header in ("bytes=abc", "items=0-5", "bytes=0-1,5-6", "bytes=9-3"):
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 200, header
        _body(response)


def test_etag_and_date_revalidation_give_304(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    url = f"/files/videos/{video.public_id}/file"
    first = client.get(url)
    etag = first["ETag"]
    _body(first)
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH=f'W/{etag}, "other"').status_code == 304
    later = http_date(timezone.now().timestamp() + 60)
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=later).status_code == 304
    changed = client.get(url, HTTP_IF_NONE_MATCH='"something-else"')
    assert changed.status_code == 200
    _body(changed)


def test_if_range_with_a_stale_etag_sends_the_whole_file(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    url = f"/files/videos/{video.public_id}/file"
    stale = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert stale.status_code == 200
    _body(stale)
    etag = client.head(url)["ETag"]
    fresh = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag)
    assert fresh.status_code == 206 and _body(fresh) == BODY[:10]


def test_head_describes_the_file_without_a_body(cast: Cast, video: Any) -> None:
    response = member_client(cast.team, cast.viewer).head(f"/files/videos/{video.public_id}/file")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(BODY))
    assert response.content == b""


def test_download_asks_the_browser_to_save(cast: Cast, video: Any) -> None:
    response = member_client(cast.team, cast.viewer).get(
        f"/files/videos/{video.public_id}/file?download=1"
    )
    assert response["Content-Disposition"].startswith('attachment; filename="studio-')
    _body(response)


def test_posters_and_thumbnails_are_served_to_members(cast: Cast, video: Any) -> None:
    client = member_client(cast.team, cast.viewer)
    for kind in ("poster", "thumbnail"):
        response = client.get(f"/files/videos/{video.public_id}/{kind}")
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        _body(response)


def test_outsider_and_wrong_method_are_refused(cast: Cast, video: Any) -> None:
    outsider = cast.client_for(cast.outsider)
    for kind in ("file", "poster", "thumbnail"):
        assert outsider.get(f"/files/videos/{video.public_id}/{kind}").status_code == 404
    member = member_client(cast.team, cast.viewer)
    assert member.post(f"/files/videos/{video.public_id}/file").status_code == 405


def test_hidden_videos_are_withheld_from_members_but_not_from_staff(cast: Cast, video: Any) -> None:
    video.hidden_at = timezone.now()
    video.save()
    member = member_client(cast.team, cast.owner)
    assert member.get(f"/files/videos/{video.public_id}/file").status_code == 404
    cast.outsider.is_staff = True
    cast.outsider.save()
    staff = cast.client_for(cast.outsider)
    response = staff.get(f"/files/videos/{video.public_id}/file")
    assert response.status_code == 200
    _body(response)


def test_large_files_stream_in_bounded_blocks(cast: Cast, video: Any) -> None:
    response = member_client(cast.team, cast.viewer).get(
        f"/files/videos/{video.public_id}/file", HTTP_RANGE="bytes=0-"
    )
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]
    assert len(chunks) == len(BODY) // BLOCK_SIZE
    assert max(len(c) for c in chunks) <= BLOCK_SIZE


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 0)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-1000", (0, 99)),
        ("bytes=90-5000", (90, 99)),
        ("bytes=", None),
        ("bytes=1-2,4-5", None),
        ("pages=1-2", None),
    ],
)
def test_a_range_header_parses_to_its_first_and_last_byte(
    header: str, expected: tuple[int, int] | None
) -> None:
    assert parse_range(header, 100) == expected


def test_a_range_past_the_end_or_of_no_bytes_is_not_satisfiable() -> None:
    for header in ("bytes=100-", "bytes=-0"):
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, 100)


def test_a_video_whose_file_is_gone_from_disk_is_a_404_not_a_server_error(
    cast: Cast, video: Any
) -> None:
    video.file.storage.delete(video.file.name)
    client = member_client(cast.team, cast.viewer)
    assert client.get(f"/files/videos/{video.public_id}/file").status_code == 404
    ranged = client.get(f"/files/videos/{video.public_id}/file", HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 404
