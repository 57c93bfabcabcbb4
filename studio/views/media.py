"""Media delivery: every stored file goes out through a membership check.

Stored names contain a random UUID and files are never rewritten in place, so
the name is a strong validator and the responses may be cached privately, but
only briefly (`STUDIO_MEDIA_MAX_AGE`): media that moderators hide or a team
that is suspended must stop playing soon, not after a day in the browser cache.
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from uuid import UUID

from django.db.models.fields.files import FieldFile
from django.http import Http404
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from studio.services import library
from studio.typing import AuthedRequest
from studio.views.access import (
    get_mask_for_viewing,
    get_reference_for_viewing,
    get_video_for_viewing,
)
from studio.views.delivery import StoredFile, serve


def _etag(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _stored(
    field: FieldFile, content_type: str | None, created_at: datetime, download_name: str = ""
) -> StoredFile:
    if not field or not field.name:
        raise Http404("No such file.")
    return StoredFile(
        storage=field.storage,
        name=field.name,
        content_type=content_type or _guess_type(field.name),
        etag=_etag(field.name),
        last_modified=created_at,
        download_name=download_name,
    )


@require_safe
def video_file(request: AuthedRequest, video_id: UUID) -> HttpResponseBase:
    video = get_video_for_viewing(request, video_id)
    download = ""
    if request.GET.get("download") == "1":
        ext = "gif" if video.kind == "gif" else "mp4"
        download = f"studio-{video.public_id.hex[:8]}.{ext}"
    return serve(request, _stored(video.file, video.content_type, video.created_at, download))


@require_safe
def video_poster(request: AuthedRequest, video_id: UUID) -> HttpResponseBase:
    video = get_video_for_viewing(request, video_id)
    return serve(request, _stored(video.poster, None, video.created_at))


@require_safe
def video_thumbnail(request: AuthedRequest, video_id: UUID) -> HttpResponseBase:
    video = get_video_for_viewing(request, video_id)
    field = video.thumbnail or video.poster
    return serve(request, _stored(field, None, video.created_at))


@require_safe
def reference_file(request: AuthedRequest, image_id: UUID) -> HttpResponseBase:
    image = get_reference_for_viewing(request, image_id)
    return serve(request, _stored(image.file, image.content_type, image.created_at))


@require_safe
def reference_thumbnail(request: AuthedRequest, image_id: UUID) -> HttpResponseBase:
    image = get_reference_for_viewing(request, image_id)
    name = library.ensure_thumbnail(image)
    stored = StoredFile(
        storage=image.file.storage,
        name=name,
        content_type="image/jpeg",
        etag=_etag(name),
        last_modified=image.created_at,
    )
    return serve(request, stored)


@require_safe
def mask_file(request: AuthedRequest, mask_id: UUID) -> HttpResponseBase:
    mask = get_mask_for_viewing(request, mask_id)
    # The painter reads an earlier mask's pixels from a canvas: it must come from our origin.
    return serve(request, _stored(mask.file, None, mask.created_at), same_origin=True)
