"""The mask painter: paint over an object, send the removal; and the media it needs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any
from uuid import UUID

from django.contrib import messages
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods

from studio.forms_masks import MaskForm
from studio.models import Job, Mask, Membership, Video
from studio.services import masks as mask_service
from studio.services.jobs import JobRequestError
from studio.services.masks import MaskError
from studio.typing import AuthedRequest
from studio.views.access import membership_for, require_editor


def _get_video_for_member(
    request: AuthedRequest, video_id: UUID, *, edit: bool = False
) -> tuple[Video, Membership]:
    video = get_object_or_404(
        Video.objects.select_related("team", "project", "job", "parent"),
        public_id=video_id,
        team__memberships__user=request.user,
    )
    membership = membership_for(request, video.team_id)
    if edit:
        require_editor(membership)
    return video, membership


def _get_mask_for_member(request: AuthedRequest, mask_id: UUID) -> Mask:
    return get_object_or_404(
        Mask.objects.select_related("video"),
        public_id=mask_id,
        team__memberships__user=request.user,
    )


def _after_submit_url(job: Job) -> str:
    # The job page belongs to the creator UI; until it exists the project page shows the queue.
    try:
        return reverse("job_detail", kwargs={"job_id": job.public_id})
    except NoReverseMatch:
        return reverse("project_detail", kwargs={"project_id": job.project.public_id})


def _earlier_masks(video: Video) -> list[Mask]:
    found = list(video.masks.select_related("created_by").order_by("-created_at")[:12])
    for mask in found:
        mask.coverage_percent = f"{mask.coverage * 100:.1f}"  # type: ignore[attr-defined]
    return found


@require_http_methods(["GET", "POST"])
def painter(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video, _ = _get_video_for_member(request, video_id, edit=True)
    reason = mask_service.refusal(video)
    geometry = None
    if not reason:
        try:
            geometry = mask_service.probe(video)
        except MaskError as exc:
            reason = str(exc)
    if reason or geometry is None:
        # Nothing can be painted or sent: say why, and submit nothing.
        status = 409 if request.method == "POST" else 200
        return render(
            request, "studio/painter.html", {"video": video, "refusal": reason}, status=status
        )

    routes = mask_service.routes(video)
    form = MaskForm(
        request.POST or None,
        request.FILES or None,
        video=video,
        geometry=geometry,
        routes=routes,
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = mask_service.submit_removal(
                video=video,
                user=request.user,
                provider=form.cleaned_data["provider"],
                frame_seconds=form.cleaned_data["frame_seconds"],
                prompt=form.cleaned_data["prompt"],
                mask=form.normalized,
                reuse=form.cleaned_data["reuse_mask"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except MaskError as exc:
            form.add_error(None, str(exc))
        except JobRequestError as exc:
            for problems in exc.errors.values():
                for problem in problems:
                    form.add_error(None, problem)
        else:
            name = next(r.name for r in routes if r.provider == job.provider)
            messages.success(request, f"Object removal queued on {name}.")
            return redirect(_after_submit_url(job))
    return render(
        request,
        "studio/painter.html",
        {
            "video": video,
            "geometry": geometry,
            "routes": routes,
            "form": form,
            "earlier_masks": _earlier_masks(video),
        },
    )


# -- media -------------------------------------------------------------------------

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


def _chunks(handle: IO[bytes], length: int) -> Iterator[bytes]:
    try:
        while length > 0:
            data = handle.read(min(_CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()


def _serve(request: AuthedRequest, field: FieldFile, content_type: str) -> HttpResponseBase:
    """A stored file with single-range support, which <video> needs to seek."""
    size = field.size
    match = _RANGE.match(request.headers.get("Range", "").strip())
    response: HttpResponseBase
    if match and (match[1] or match[2]):
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]) if match[2] else size - 1, size - 1)
        else:
            start, end = max(size - int(match[2]), 0), size - 1
        if start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle: Any = field.open("rb")
        handle.seek(start)
        response = StreamingHttpResponse(
            _chunks(handle, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(field.open("rb"), content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
def video_file(request: AuthedRequest, video_id: UUID) -> HttpResponseBase:
    video, _ = _get_video_for_member(request, video_id)
    if not video.file:
        raise Http404("This video has no file yet.")
    return _serve(request, video.file, video.content_type or "video/mp4")


@require_GET
def mask_image(request: AuthedRequest, mask_id: UUID) -> HttpResponseBase:
    mask = _get_mask_for_member(request, mask_id)
    return _serve(request, mask.file, "image/jpeg")
