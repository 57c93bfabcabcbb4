"""The mask painter: paint over an object of a video, send its removal."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from studio.forms.masks import MaskForm
from studio.jobs.create import JobRequestError
from studio.models import Mask, Video
from studio.services import masks as mask_service
from studio.services.masks import MaskError
from studio.typing import AuthedRequest
from studio.views.access import get_video_for_member


def _earlier_masks(video: Video) -> list[Mask]:
    found = list(video.masks.select_related("created_by").order_by("-created_at")[:12])
    for mask in found:
        mask.coverage_percent = f"{mask.coverage * 100:.1f}"  # type: ignore[attr-defined]
    return found


@require_http_methods(["GET", "POST"])
def painter(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    # 404 for outsiders, 403 for viewers and for hidden videos.
    video = get_video_for_member(request, video_id, edit=True)
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
            return redirect("job_detail", job_id=job.public_id)
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
