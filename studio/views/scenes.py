"""The scene builder: a project's scenes, their shots, the player and the export.

Every change is a plain form POST that redirects back to the builder, so the
page works without JavaScript; `scene-builder.js` adds drag and drop (it
submits the reorder form) and the scrubbers. Refusals come back as messages
and store nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from studio import presenters
from studio.forms.scenes import (
    AddShotForm,
    AddToSceneForm,
    CrossfadeForm,
    ExportForm,
    JumpForm,
    MoveShotForm,
    ReorderForm,
    SceneForm,
    TrimForm,
)
from studio.forms.videos import ExtendForm
from studio.jobs.create import JobRequestError
from studio.models import Job, Mode, Scene, SceneShot, Video, VideoKind
from studio.services import edits
from studio.services import scenes as service
from studio.typing import AuthedRequest
from studio.views.access import (
    can_edit,
    get_project_for_member,
    get_scene_for_member,
    get_shot_for_member,
    get_video_for_member,
)

RECENT_EXPORTS = 5


def _back(scene: Scene, anchor: str = "shots") -> HttpResponse:
    return redirect(reverse("scene_detail", args=[scene.public_id]) + f"#{anchor}")


def _form_errors(request: AuthedRequest, form: Any) -> None:
    for field_messages in form.errors.values():
        for message in field_messages:
            messages.error(request, message)


def _project_videos(scene: Scene) -> list[Video]:
    return list(
        Video.objects.filter(
            project=scene.project, kind=VideoKind.VIDEO, hidden_at__isnull=True
        ).select_related("job")[:200]
    )


def _extend_offer(shot: SceneShot) -> dict[str, Any] | None:
    """The shot's Extend: where it can run and what it costs, or why it cannot."""
    if shot.video is None:
        return None
    if shot.pending_job_id is not None:
        return {"routes": [], "reason": "This shot is already being replaced."}
    found = edits.routes(shot.video, Mode.EXTEND)
    chosen = edits.default_route(shot.video, Mode.EXTEND)
    offered = [
        {
            "value": route.value,
            "label": route.label,
            "cost": presenters.credit_words(route.cost) if route.cost else "free",
            "where": "on a gateway" if route.remote else "on this server",
            "selected": chosen is not None and route.value == chosen.value,
        }
        for route in found
        if route.available
    ]
    reasons = sorted({route.reason for route in found} - {""})
    reason = "" if offered else (" ".join(reasons) or "No provider on this Studio extends videos.")
    return {"routes": offered, "reason": reason}


@require_POST
def scene_create(request: AuthedRequest, project_id: UUID) -> HttpResponse:
    project, _ = get_project_for_member(request, project_id, edit=True)
    form = SceneForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(reverse("project_detail", args=[project.public_id]) + "#scenes")
    try:
        scene = service.create_scene(project, request.user, form.cleaned_data["name"])
    except service.SceneError as exc:
        messages.error(request, str(exc))
        return redirect(reverse("project_detail", args=[project.public_id]) + "#scenes")
    return redirect("scene_detail", scene_id=scene.public_id)


@require_safe
def scene_detail(request: AuthedRequest, scene_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id)
    editable = can_edit(scene)
    shots = service.playlist(scene)
    # The scene's exports and the jobs its waiting shots wait for.
    found = Job.objects.filter(
        Q(project=scene.project, mode=Mode.SCENE_EXPORT, params__scene=str(scene.public_id))
        | Q(scene_shots__scene=scene)
    ).distinct()
    jobs = list(
        found.select_related("video", "created_by").order_by("-created_at")[:RECENT_EXPORTS]
    )
    return render(
        request,
        "studio/scene_detail.html",
        {
            "scene": scene,
            "project": scene.project,
            "shots": shots,
            "shot_rows": [(shot, _extend_offer(shot) if editable else None) for shot in shots],
            "can_edit": editable,
            "total_seconds": sum(shot.length_seconds for shot in shots if shot.video),
            "videos": _project_videos(scene) if editable else [],
            "crossfade_form": CrossfadeForm(initial={"crossfade_seconds": scene.crossfade_seconds}),
            "export_form": ExportForm(),
            "jump_form": JumpForm(),
            "cards": presenters.cards(jobs, can_edit=editable),
        },
    )


@require_POST
def scene_add_shot(request: AuthedRequest, scene_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    form = AddShotForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(scene)
    # Another team's video is as unknown as a forged id.
    video = Video.objects.filter(public_id=form.cleaned_data["video"], team=scene.team).first()
    if video is None:
        messages.error(request, "Choose one of this project's videos.")
        return _back(scene)
    try:
        service.add_shot(scene, video)
    except service.SceneError as exc:
        messages.error(request, str(exc))
        return _back(scene)
    messages.success(request, "Shot added to the end of the scene.")
    return _back(scene)


@require_POST
def video_add_to_scene(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    """The video page's "Add to scene": to a chosen scene of its project, or a new one."""
    video = get_video_for_member(request, video_id, edit=True)
    form = AddToSceneForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of this project's scenes.")
        return redirect("video_detail", video_id=video.public_id)
    scene_id = form.cleaned_data["scene"]
    if scene_id is None:
        found = None
    else:
        found = Scene.objects.filter(public_id=scene_id, project=video.project).first()
        if found is None:
            messages.error(request, "Choose one of this project's scenes.")
            return redirect("video_detail", video_id=video.public_id)
    try:
        # A new scene is kept only with its first shot in it.
        with transaction.atomic():
            if found is None:
                count = Scene.objects.filter(project=video.project).count()
                found = service.create_scene(video.project, request.user, f"Scene {count + 1}")
            scene = found
            service.add_shot(scene, video)
    except service.SceneError as exc:
        messages.error(request, str(exc))
        return redirect("video_detail", video_id=video.public_id)
    messages.success(request, f"Added to “{scene.name}”.")
    return _back(scene)


@require_POST
def shot_move(request: AuthedRequest, scene_id: UUID, shot_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    shot = get_shot_for_member(request, scene, shot_id)
    form = MoveShotForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(scene)
    service.move_shot(shot, form.step)
    return _back(scene, f"shot-{shot.public_id}")


@require_POST
def scene_reorder(request: AuthedRequest, scene_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    form = ReorderForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(scene)
    try:
        service.reorder(scene, form.cleaned_data["order"])
    except service.SceneError as exc:
        messages.error(request, str(exc))
    return _back(scene)


@require_POST
def shot_trim(request: AuthedRequest, scene_id: UUID, shot_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    shot = get_shot_for_member(request, scene, shot_id)
    form = TrimForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(scene, f"shot-{shot.public_id}")
    try:
        service.trim_shot(shot, form.cleaned_data["in_seconds"], form.cleaned_data["out_seconds"])
    except service.SceneError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Shot {shot.position + 1} trimmed to {shot.length_seconds:.1f} s."
        )
    return _back(scene, f"shot-{shot.public_id}")


@require_POST
def shot_remove(request: AuthedRequest, scene_id: UUID, shot_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    shot = get_shot_for_member(request, scene, shot_id)
    service.remove_shot(shot)
    messages.success(request, "Shot removed from the scene; its video is kept.")
    return _back(scene)


@require_POST
def shot_jump(request: AuthedRequest, scene_id: UUID, shot_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    shot = get_shot_for_member(request, scene, shot_id)
    form = JumpForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(scene, f"shot-{shot.public_id}")
    try:
        service.jump_to(
            shot, request.user, form.cleaned_data["prompt"], form.cleaned_data["idempotency_key"]
        )
    except service.SceneError as exc:
        messages.error(request, str(exc))
        return _back(scene, f"shot-{shot.public_id}")
    messages.success(request, "The next shot is being made from this shot's last frame.")
    return _back(scene)


@require_POST
def shot_extend(request: AuthedRequest, scene_id: UUID, shot_id: UUID) -> HttpResponse:
    """Extend the shot's video; the longer video replaces the shot when it is done."""
    scene = get_scene_for_member(request, scene_id, edit=True)
    shot = get_shot_for_member(request, scene, shot_id)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(scene, f"shot-{shot.public_id}")
    offer = _extend_offer(shot)
    if offer is None or offer["reason"]:
        messages.error(request, offer["reason"] if offer else "This shot has no video yet.")
        return _back(scene, f"shot-{shot.public_id}")
    assert shot.video is not None
    provider, model = form.cleaned_data["route"]
    try:
        # The job and the shot's hold on it are kept together or not at all.
        with transaction.atomic():
            job = edits.extend_video(
                shot.video,
                request.user,
                route=f"{provider}:{model}",
                prompt=form.cleaned_data["prompt"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
            service.replace_with(shot, job)
    except JobRequestError as exc:
        for field_messages in exc.errors.values():
            for message in field_messages:
                messages.error(request, message)
        return _back(scene, f"shot-{shot.public_id}")
    except (edits.EditError, service.SceneError) as exc:
        messages.error(request, str(exc))
        return _back(scene, f"shot-{shot.public_id}")
    messages.success(
        request,
        f"Extending shot {shot.position + 1} on {presenters.model_label(job)}: "
        "the longer video replaces it when it is done.",
    )
    return _back(scene, f"shot-{shot.public_id}")


@require_POST
def scene_crossfade(request: AuthedRequest, scene_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    form = CrossfadeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(scene, "export")
    service.set_crossfade(scene, form.cleaned_data["crossfade_seconds"])
    messages.success(request, "Crossfade saved.")
    return _back(scene, "export")


@require_POST
def scene_export(request: AuthedRequest, scene_id: UUID) -> HttpResponse:
    scene = get_scene_for_member(request, scene_id, edit=True)
    form = ExportForm(request.POST)
    key = form.cleaned_data["idempotency_key"] if form.is_valid() else None
    try:
        service.export(scene, request.user, key)
    except service.SceneError as exc:
        messages.error(request, str(exc))
        return _back(scene, "export")
    messages.success(request, "Exporting the scene on this server: it appears below when done.")
    return _back(scene, "export")
