"""Share links: editors make and revoke them; anyone with one sees that video only."""

from __future__ import annotations

import hashlib
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from studio.models import Video
from studio.services import audit, sharing
from studio.typing import AuthedRequest
from studio.views.access import can_edit, get_video_for_member
from studio.views.delivery import StoredFile, serve

# Short: a revoked link should stop working in browsers soon, and the token in
# the address is the only key, so nothing is shared with other caches.
MAX_AGE = 300


@require_POST
def share_create(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    # 404 for outsiders, 403 for viewers and for hidden videos.
    video = get_video_for_member(request, video_id, edit=True)
    link = sharing.share_video(video, request.user)
    audit.record(request, "share.create", link, video=video.public_id)
    messages.success(request, "Share link ready: anyone with it can watch this video.")
    return redirect("video_detail", video_id=video.public_id)


@require_POST
def share_revoke(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = get_video_for_member(request, video_id)
    # A hidden video's link may still be revoked, so not `edit=True` (which refuses hidden ones).
    if not can_edit(video):
        raise PermissionDenied("Viewers cannot change anything in this team.")
    if sharing.revoke_link(video, request.user):
        audit.record(request, "share.revoke", video)
        messages.success(request, "Share link revoked: it no longer works.")
    else:
        messages.info(request, "This video has no share link (it was already revoked).")
    return redirect("video_detail", video_id=video.public_id)


def _shared(token: str) -> Video:
    video = sharing.shared_video(token)
    if video is None:
        raise Http404("This link does not work (it may have been revoked).")
    return video


def _noindex(response: HttpResponseBase) -> HttpResponseBase:
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@require_safe
def shared_page(request: HttpRequest, token: str) -> HttpResponseBase:
    video = _shared(token)
    prompt = video.job.prompt_text if video.job else ""
    response = render(
        request, "studio/shared_video.html", {"video": video, "prompt": prompt, "token": token}
    )
    response["Cache-Control"] = "private, no-store"
    return _noindex(response)


def _serve(
    request: HttpRequest, field: FieldFile, content_type: str, video: Video
) -> HttpResponseBase:
    if not field or not field.name:
        raise Http404("No such file.")
    stored = StoredFile(
        storage=field.storage,
        name=field.name,
        content_type=content_type,
        etag=hashlib.sha256(field.name.encode()).hexdigest()[:32],
        last_modified=video.created_at,
    )
    return _noindex(serve(request, stored, max_age=MAX_AGE))


@login_not_required
@require_safe
def shared_file(request: HttpRequest, token: str) -> HttpResponseBase:
    video = _shared(token)
    return _serve(request, video.file, video.content_type, video)


@login_not_required
@require_safe
def shared_poster(request: HttpRequest, token: str) -> HttpResponseBase:
    video = _shared(token)
    return _serve(request, video.poster, "image/jpeg", video)
