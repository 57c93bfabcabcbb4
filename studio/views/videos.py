"""The video page: player, recall, lineage, and the follow-up actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from studio import presenters
from studio.forms.videos import (
    ActionForm,
    FavouriteForm,
    FrameForm,
    GifForm,
    ReportForm,
    UpscaleForm,
)
from studio.jobs.actions import JobActionError, rerun_job
from studio.jobs.create import JobRequestError, create_job
from studio.models import Favourite, Job, Mode, Video, VideoKind
from studio.providers import registry
from studio.services import creator, library, moderation
from studio.services import gallery as gallery_service
from studio.typing import AuthedRequest
from studio.views.access import can_edit, get_video_for_member


def edit_route(mode: str, video: Video) -> tuple[str, str] | None:
    """Where an edit of `video` runs: its own provider if it can, else the first that can."""
    candidates = []
    for provider in registry.enabled_providers():
        for spec in provider.models():
            if mode in spec.modes:
                candidates.append((provider.name, spec.name))
    own = video.job.provider if video.job else ""
    for route in candidates:
        if route[0] == own:
            return route
    return candidates[0] if candidates else None


def _video_context(request: AuthedRequest, video: Video, **forms: Any) -> dict[str, Any]:
    job = video.job
    editable = can_edit(video) and video.hidden_at is None
    upscale_route = edit_route(Mode.UPSCALE, video) if video.kind == VideoKind.VIDEO else None
    gif_route = edit_route(Mode.GIF, video) if video.kind == VideoKind.VIDEO else None
    return {
        "video": video,
        "job": job,
        "model_label": presenters.model_label(job) if job else "",
        "inputs": job.inputs.select_related("image") if job else [],
        "lineage": gallery_service.lineage(video, include_hidden=request.user.is_staff),
        "is_favourite": Favourite.objects.filter(user=request.user, video=video).exists(),
        "can_edit": editable,
        "upscale_route": upscale_route,
        "gif_route": gif_route,
        "upscale_targets": [
            ("1080p", "1080p", video.height >= 1080),
            ("4k", "4K", video.height >= 2160),
        ],
        "frame_form": forms.get("frame_form") or FrameForm(),
        "report_form": forms.get("report_form") or ReportForm(),
        "gif_form": forms.get("gif_form") or GifForm(),
        "action_form": ActionForm(),
        "is_removal": bool(job and job.mode == Mode.REMOVAL),
    }


@require_safe
def video_detail(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = get_video_for_member(request, video_id)
    if video.hidden_at is not None and not request.user.is_staff:
        return render(request, "studio/video_hidden.html", {"video": video})
    return render(request, "studio/video_detail.html", _video_context(request, video))


@require_POST
@vary_on_headers("HX-Request")
def video_favourite(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    # Favourites are personal: viewers may keep them too.
    video = get_video_for_member(request, video_id)
    form = FavouriteForm(request.POST)
    on = form.is_valid() and form.cleaned_data["on"]
    creator.set_favourite(request.user, video, on)
    if request.htmx:
        return render(
            request, "studio/gallery.html#favourite", {"video": video, "is_favourite": on}
        )
    target = form.cleaned_data.get("next", "") if form.is_valid() else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("video_detail", video_id=video.public_id)


def _job_made(request: AuthedRequest, job: Job, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("project_detail", args=[job.project.public_id]) + "#queue")


def _refused(request: AuthedRequest, video: Video, exc: Exception) -> HttpResponse:
    if isinstance(exc, JobRequestError):
        for field_messages in exc.errors.values():
            for message in field_messages:
                messages.error(request, message)
    else:
        messages.error(request, str(exc))
    return redirect("video_detail", video_id=video.public_id)


@require_POST
def video_rerun(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = get_video_for_member(request, video_id, edit=True)
    form = ActionForm(request.POST)
    key = form.cleaned_data["idempotency_key"] if form.is_valid() else None
    if video.job is None:
        messages.error(request, "This video has no job record to run again.")
        return redirect("video_detail", video_id=video.public_id)
    try:
        job = rerun_job(video.job, request.user, idempotency_key=key)
    except (JobActionError, JobRequestError) as exc:
        return _refused(request, video, exc)
    return _job_made(request, job, "Running again with the same inputs.")


@require_POST
def video_upscale(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = get_video_for_member(request, video_id, edit=True)
    form = UpscaleForm(request.POST)
    route = edit_route(Mode.UPSCALE, video)
    if not form.is_valid() or route is None:
        messages.error(request, "Upscaling is not available for this video.")
        return redirect("video_detail", video_id=video.public_id)
    target = form.cleaned_data["target"]
    try:
        job = create_job(
            project=video.project,
            user=request.user,
            provider=route[0],
            model=route[1],
            mode=Mode.UPSCALE,
            params={"target": target},
            source_video=video,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except JobRequestError as exc:
        return _refused(request, video, exc)
    return _job_made(request, job, f"Upscaling to {'4K' if target == '4k' else target}.")


@require_POST
def video_gif(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = get_video_for_member(request, video_id, edit=True)
    form = GifForm(request.POST)
    route = edit_route(Mode.GIF, video)
    if not form.is_valid() or route is None:
        messages.error(request, "GIFs cannot be made from this video.")
        return redirect("video_detail", video_id=video.public_id)
    try:
        job = create_job(
            project=video.project,
            user=request.user,
            provider=route[0],
            model=route[1],
            mode=Mode.GIF,
            params={"fps": form.cleaned_data["fps"], "width": form.cleaned_data["width"]},
            source_video=video,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except JobRequestError as exc:
        return _refused(request, video, exc)
    return _job_made(request, job, "Making a GIF.")


@require_POST
def video_frame(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    """'Use this frame' and 'use last frame as start frame'."""
    video = get_video_for_member(request, video_id, edit=True)
    form = FrameForm(request.POST)
    if video.kind != VideoKind.VIDEO or not form.is_valid():
        messages.error(request, "Choose a time inside the video.")
        return redirect("video_detail", video_id=video.public_id)
    at = form.cleaned_data["at"]
    if at is None:
        at = library.last_frame_seconds(video)
    try:
        result = library.frame_to_reference(video, at, request.user)
    except library.LibraryError as exc:
        messages.error(request, str(exc))
        return redirect("video_detail", video_id=video.public_id)
    if form.cleaned_data.get("then") == "start":
        messages.success(request, "The frame is the start frame of your next shot.")
        query = urlencode({"mode": Mode.IMG2VIDEO, "start": result.image.public_id})
        return redirect(
            reverse("project_detail", args=[video.project.public_id]) + f"?{query}#generate"
        )
    messages.success(request, result.message)
    return redirect("library")


@require_POST
def video_report(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    # Any member may report, viewers included.
    video = get_video_for_member(request, video_id)
    form = ReportForm(request.POST)
    if not form.is_valid():
        context = _video_context(request, video, report_form=form)
        return render(request, "studio/video_detail.html", context)
    try:
        moderation.file_report(video, request, form.cleaned_data["reason"])
    except moderation.ModerationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Thank you. The moderators will look at this video.")
    return redirect("video_detail", video_id=video.public_id)
