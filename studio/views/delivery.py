"""Serving stored files to members: byte ranges, validators and bounded memory.

Browsers seek in a video with `Range` requests and revalidate posters with
`If-None-Match`; both must work or seeking breaks (Safari refuses to play a
video whose server ignores ranges). Files are streamed in 64 KB blocks, so
a 4K upscale costs no more memory than a thumbnail.

With media on S3 (`STUDIO_S3_BUCKET`) the caller's checks stay the same and
`STUDIO_S3_DELIVERY` picks what follows them: `redirect` answers 302 to a
short-lived presigned URL (S3 serves the bytes and the ranges; the redirect
itself is never cached), `stream` reads from S3 and streams here, fetching
only the requested range from the bucket.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.files.storage import Storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import http_date, parse_http_date_safe, quote_etag

from studio.storage import STORAGE_ERRORS, MediaStorage, describe, is_missing_object

log = logging.getLogger(__name__)

BLOCK_SIZE = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class StoredFile:
    storage: Storage
    name: str
    content_type: str
    etag: str  # without quotes
    last_modified: datetime
    download_name: str = ""


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single `bytes=` range, or None to send it all.

    Several ranges are answered with the whole file, which RFC 9110 allows.
    """
    header = header.strip()
    if not header.startswith("bytes=") or "," in header:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if not match:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if last_s and last < first:
        return None  # invalid: ignored, as RFC 9110 says
    if first >= size:
        raise RangeNotSatisfiable
    return first, min(last, size - 1)


def _blocks(fh: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(BLOCK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()


def _started(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Start `blocks` now (so a failing request raises here), then yield everything."""
    first = next(blocks, b"")
    return itertools.chain([first], blocks)


def _not_modified(request: HttpRequest, etag: str, last_modified: datetime) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or quote_etag(etag) in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(last_modified.timestamp()) <= since


def _if_range_matches(request: HttpRequest, etag: str, last_modified: datetime) -> bool:
    value = request.headers.get("If-Range")
    if value is None:
        return True
    if value.startswith('"') or value.startswith("W/"):
        return value == quote_etag(etag)
    date = parse_http_date_safe(value)
    return date is not None and int(last_modified.timestamp()) == date


def _disposition(stored: StoredFile) -> str:
    if stored.download_name:
        return f'attachment; filename="{stored.download_name}"'
    return "inline"


def _redirect(storage: MediaStorage, stored: StoredFile, max_age: int) -> HttpResponseBase:
    """302 to a presigned URL that answers with our type, disposition and caching."""
    url = storage.presigned_url(
        stored.name,
        content_type=stored.content_type,
        disposition=_disposition(stored),
        cache_control=f"private, max-age={max_age}",
        seconds=settings.STUDIO_S3_URL_SECONDS,
    )
    response = HttpResponseRedirect(url)
    # The URL expires soon and must not outlive a hide or a suspension.
    response["Cache-Control"] = "private, no-store"
    return response


def _unavailable(exc: Exception) -> HttpResponse:
    log.warning("media storage unavailable: %s", describe(exc))
    response = HttpResponse(
        "Storage is unavailable; try again shortly.", status=503, content_type="text/plain"
    )
    response["Retry-After"] = "10"
    response["Cache-Control"] = "no-store"
    return response


def serve(
    request: HttpRequest,
    stored: StoredFile,
    *,
    max_age: int | None = None,
    same_origin: bool = False,
) -> HttpResponseBase:
    """Answer with the file; `same_origin` streams it even in redirect mode (a page script
    reads its pixels, which a cross-origin image would forbid)."""
    if max_age is None:
        max_age = settings.STUDIO_MEDIA_MAX_AGE
    storage = stored.storage
    redirect = settings.STUDIO_S3_DELIVERY == "redirect" and not same_origin
    if isinstance(storage, MediaStorage) and redirect:
        return _redirect(storage, stored, max_age)
    try:
        return _serve(request, stored, max_age)
    except FileNotFoundError:
        return _missing(stored)
    except STORAGE_ERRORS as exc:
        if is_missing_object(exc):
            return _missing(stored)
        return _unavailable(exc)


def _missing(stored: StoredFile) -> HttpResponseBase:
    # A row whose file is gone is lost data: worth an error in the log, a 404 to the browser.
    log.error("media file %s is missing from storage", stored.name)
    raise Http404("No such file.")


def _serve(request: HttpRequest, stored: StoredFile, max_age: int) -> HttpResponseBase:
    validators = {
        "ETag": quote_etag(stored.etag),
        "Last-Modified": http_date(stored.last_modified.timestamp()),
        "Cache-Control": f"private, max-age={max_age}",
        "Accept-Ranges": "bytes",
    }
    if _not_modified(request, stored.etag, stored.last_modified):
        not_modified = HttpResponse(status=304)
        for key, value in validators.items():
            not_modified[key] = value
        return not_modified

    size = stored.storage.size(stored.name)
    byte_range = None
    wants_range = request.method == "GET" and "Range" in request.headers
    if wants_range and _if_range_matches(request, stored.etag, stored.last_modified):
        try:
            byte_range = parse_range(request.headers["Range"], size)
        except RangeNotSatisfiable:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            refused["Accept-Ranges"] = "bytes"
            return refused

    headers = dict(validators)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Disposition"] = _disposition(stored)
    if byte_range is not None:
        first, last = byte_range
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    else:
        first, last = 0, size - 1
    headers["Content-Length"] = str(last - first + 1)
    status = 206 if byte_range is not None else 200

    response: HttpResponseBase
    storage = stored.storage
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=stored.content_type)
    elif isinstance(storage, MediaStorage):
        # One ranged GET to the bucket, streamed as it arrives: a seek into a
        # long video fetches that range only, never the whole object.
        blocks: Iterator[bytes] = iter(())
        if size > 0:
            blocks = storage.open_range(stored.name, first, last)
            # Fail here (a 503) rather than halfway through the body.
            blocks = _started(blocks)
        response = StreamingHttpResponse(blocks, status=status, content_type=stored.content_type)
    elif byte_range is None:
        # FileResponse lets the WSGI server use sendfile for whole files.
        fh = stored.storage.open(stored.name, "rb")
        response = FileResponse(fh, content_type=stored.content_type)
    else:
        fh = stored.storage.open(stored.name, "rb")
        response = StreamingHttpResponse(
            _blocks(fh, first, last - first + 1), status=206, content_type=stored.content_type
        )
    for key, value in headers.items():
        response[key] = value
    return response
