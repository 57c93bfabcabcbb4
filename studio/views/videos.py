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
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from studio import presenters
from studio.forms.videos import (
    ActionForm,
    EditForm,
    ExtendForm,
    FavouriteForm,
    FrameForm,
    GifForm,
    InsertForm,
    ReportForm,
    ReshootForm,
    UpscaleForm,
)
from studio.jobs.actions import JobActionError, rerun_job
from studio.jobs.create import JobRequestError, create_job
from studio.models import Favourite, Job, Mode, Video, VideoKind
from studio.providers import registry
from studio.providers.base import MOTION_TYPES
from studio.services import creator, library, moderation
from studio.services import edits as edit_service
from studio.services import gallery as gallery_service
from studio.services import masks as mask_service
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


def route_note(route: tuple[str, str] | None, video: Video) -> str:
    """Where an upscale or GIF runs and what it costs, said next to its button: a
    gateway video's upscale may run on this server's engine instead."""
    if route is None:
        return ""
    provider = registry.get_provider(route[0])
    credits = registry.cost(*route)
    where = "on a gateway" if provider.remote else "on this server"
    note = f"Runs on {provider.label} ({where})"
    own = video.job.provider if video.job else ""
    if own and own != route[0]:
        note += f", not on {presenters.provider_label(own)}"
    return f"{note} · {presenters.credit_words(credits) if credits else 'free'}"


def _derived_jobs(request: AuthedRequest, video: Video) -> list[Job]:
    """The latest jobs made from `video`; hidden ones only for staff."""
    jobs = video.derived_jobs.select_related("video")
    if not request.user.is_staff:
        jobs = jobs.filter(hidden_at__isnull=True)
    return list(jobs.order_by("-created_at")[:4])


def _video_context(request: AuthedRequest, video: Video, **forms: Any) -> dict[str, Any]:
    job = video.job
    editable = can_edit(video) and video.hidden_at is None
    upscale_route = edit_route(Mode.UPSCALE, video) if video.kind == VideoKind.VIDEO else None
    gif_route = edit_route(Mode.GIF, video) if video.kind == VideoKind.VIDEO else None
    return {
        "video": video,
        "job": job,
        "model_label": presenters.model_label(job) if job else "",
        "subtitle": presenters.job_subtitle(job) if job else "",
        "fps_label": presenters.fps_label(video),
        "inputs": job.inputs.select_related("image") if job else [],
        "lineage": gallery_service.lineage(video, include_hidden=request.user.is_staff),
        "is_favourite": Favourite.objects.filter(user=request.user, video=video).exists(),
        "can_edit": editable,
        "upscale_route": upscale_route,
        "gif_route": gif_route,
        "upscale_note": route_note(upscale_route, video),
        "gif_note": route_note(gif_route, video),
        "upscale_targets": [
            ("1080p", "1080p", video.height >= 1080),
            ("4k", "4K", video.height >= 2160),
        ],
        "frame_form": forms.get("frame_form") or FrameForm(),
        "report_form": forms.get("report_form") or ReportForm(),
        "gif_form": forms.get("gif_form") or GifForm(),
        "action_form": ActionForm(),
        "is_removal": bool(job and job.mode == Mode.REMOVAL),
        "derived_cards": presenters.cards(_derived_jobs(request, video), can_edit=editable),
        **_edit_context(video, editable),
    }


def _edit_context(video: Video, editable: bool) -> dict[str, Any]:
    """The three edit panels: each route with its cost, or why the video cannot take it.

    The edits' live cards are among the cards of everything made from the video."""
    panels = {}
    if editable and video.kind == VideoKind.VIDEO:
        for mode in edit_service.EDITS:
            found = edit_service.routes(video, mode)
            chosen = edit_service.default_route(video, mode)
            panels[str(mode)] = {
                "routes": [
                    {
                        "route": route,
                        "cost": presenters.credit_words(route.cost) if route.cost else "free",
                        "where": "on a gateway" if route.remote else "on this server, offline",
                        "checked": chosen is not None and route.value == chosen.value,
                    }
                    for route in found
                ],
                "open": chosen is not None,
                "reason": "" if chosen is not None else _closed_reason(found),
                "limits": _model_limits(mode),
            }
    return {
        "edit_panels": panels,
        "motion_form": ReshootForm(),
        "insert_form": InsertForm(video=video),
        "extend_form": ExtendForm(),
    }


def _model_limits(mode: str) -> list[str]:
    """For each provider that does `mode` with only some of its models, which ones."""
    notes = []
    for provider in registry.enabled_providers():
        if mode not in provider.edit_modes:
            continue
        generators = [spec for spec in provider.models() if Mode.TEXT2VIDEO in spec.modes]
        able = [spec.label for spec in generators if mode in spec.modes]
        if able and len(able) < len(generators):
            verb = Mode(mode).label.lower()
            notes.append(
                f"{provider.label}: {verb} needs {' or '.join(able)}; other models cannot."
            )
    return notes


def _closed_reason(found: list[edit_service.EditRoute]) -> str:
    reasons = sorted({route.reason for route in found} - {""})
    return " ".join(reasons) or "No provider on this Studio offers it."


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


def _edit_made(request: AuthedRequest, video: Video, job: Job, message: str) -> HttpResponse:
    """An edit of this video: stay on its page, where the new job's card shows."""
    messages.success(request, message)
    return redirect(reverse("video_detail", args=[video.public_id]) + f"#job-{job.public_id}")


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
    return _edit_made(request, video, job, f"Upscaling to {'4K' if target == '4k' else target}.")


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
    return _edit_made(request, video, job, "Making a GIF.")


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


# Extend, reshoot, insert: each stays on the video's page, where its card runs.


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, JobRequestError):
        return [m for field_messages in exc.errors.values() for m in field_messages]
    return [str(exc)]


def _edit_refused(request: AuthedRequest, video: Video, problems: list[str]) -> HttpResponse:
    for problem in problems:
        messages.error(request, problem)
    return redirect(reverse("video_detail", args=[video.public_id]) + "#edits")


def _form_problems(form: EditForm) -> list[str]:
    return [str(m) for field_messages in form.errors.values() for m in field_messages]


def _start(request: AuthedRequest, video: Video, form: EditForm, mode: str, **fields: Any) -> Job:
    """The edit's job; JobRequestError or EditError when it cannot start."""
    provider, model = form.cleaned_data["route"]
    return edit_service.submit_edit(
        video=video,
        user=request.user,
        mode=mode,
        provider=provider,
        model=model,
        idempotency_key=form.cleaned_data["idempotency_key"],
        **fields,
    )


@require_POST
def video_extend(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = get_video_for_member(request, video_id, edit=True)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        return _edit_refused(request, video, _form_problems(form))
    try:
        job = _start(request, video, form, Mode.EXTEND, prompt=form.cleaned_data["prompt"])
    except (JobRequestError, edit_service.EditError) as exc:
        return _edit_refused(request, video, _problems(exc))
    return _edit_made(request, video, job, f"Extending on {presenters.model_label(job)}.")


@require_POST
def video_reshoot(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = get_video_for_member(request, video_id, edit=True)
    form = ReshootForm(request.POST)
    if not form.is_valid():
        return _edit_refused(request, video, _form_problems(form))
    motion = form.cleaned_data["motion_type"]
    try:
        job = _start(request, video, form, Mode.RESHOOT, params={"motion_type": motion})
    except (JobRequestError, edit_service.EditError) as exc:
        return _edit_refused(request, video, _problems(exc))
    return _edit_made(request, video, job, f"Reshooting: {MOTION_TYPES[motion].lower()}.")


@require_http_methods(["GET", "POST"])
def video_insert(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    """GET: the painter in insert mode. POST: an insertion, from it or from the video page
    (errors go back where the form was)."""
    video = get_video_for_member(request, video_id, edit=True)
    from_painter = request.POST.get("from") == "painter"
    # An empty POST is still a POST: `request.POST or None` would leave the form unbound.
    form = InsertForm(request.POST if request.method == "POST" else None, video=video)
    if request.method == "POST":
        problems = [] if form.is_valid() else _form_problems(form)
        if not problems:
            try:
                job = _start(
                    request,
                    video,
                    form,
                    Mode.INSERT,
                    prompt=form.cleaned_data["prompt"],
                    mask=form.normalized,
                    image=form.cleaned_data["image"],
                )
            except (JobRequestError, edit_service.EditError) as exc:
                problems = _problems(exc)
                for problem in problems:
                    form.add_error(None, problem)
            else:
                return _edit_made(request, video, job, "Inserting the object.")
        if not from_painter:
            return _edit_refused(request, video, problems)
    return _insert_painter(request, video, form)


def _insert_painter(request: AuthedRequest, video: Video, form: InsertForm) -> HttpResponse:
    reason = edit_service.refusal(video)
    geometry = None
    if not reason:
        try:
            geometry = mask_service.probe(video)
        except mask_service.MaskError as exc:
            reason = str(exc)
    if reason or geometry is None:
        return render(request, "studio/painter.html", {"video": video, "refusal": reason})
    chosen = edit_service.default_route(video, Mode.INSERT)
    return render(
        request,
        "studio/painter.html",
        {
            "video": video,
            "geometry": geometry,
            "form": form,
            "insert": True,
            "insert_routes": [
                {
                    "route": route,
                    "cost": presenters.credit_words(route.cost) if route.cost else "free",
                    "checked": chosen is not None and route.value == chosen.value,
                }
                for route in edit_service.routes(video, Mode.INSERT)
            ],
        },
    )
