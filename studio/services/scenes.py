"""Scenes: build an ordered list of trimmed shots, fill places from jobs, export.

Every change checks what the browser could have faked: a shot's video must be
a playable video of the scene's own project (so of its team), trims must lie
inside the clip with the out point after the in point. Positions stay 0..n-1.

A shot waiting for a job (`pending_job`) is filled in `place_result`, called
where a job's video is stored: with no video yet it is the place a "Jump to"
result goes; with a video, an "Extend" result replaces it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from studio.jobs.create import JobRequestError, create_job
from studio.models import (
    ExportShot,
    Job,
    Mode,
    Project,
    Scene,
    SceneShot,
    Video,
    VideoKind,
)
from studio.providers import registry
from studio.services import library

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EXPORT_PROVIDER = ("local", "draft")
MAX_SHOTS = 50
MAX_CROSSFADE = 1.0
# Container lengths are rounded: an out point this close past the end is the end.
TRIM_SLACK = 0.05


class SceneError(Exception):
    """A change a scene cannot take; the message is for the creator."""


def create_scene(project: Project, user: User, name: str) -> Scene:
    if project.archived_at is not None:
        raise SceneError("Restore the project before adding scenes to it.")
    return Scene.objects.create(
        team=project.team, project=project, name=name.strip(), created_by=user
    )


def _renumber(scene: Scene) -> None:
    for position, shot in enumerate(scene.shots.order_by("position", "id")):
        if shot.position != position:
            SceneShot.objects.filter(pk=shot.pk).update(position=position)
    Scene.objects.filter(pk=scene.pk).update(updated_at=timezone.now())


def _check_video(scene: Scene, video: Video) -> None:
    if video.team_id != scene.team_id or video.project_id != scene.project_id:
        raise SceneError("Only videos of this scene's project can be shots in it.")
    if video.kind != VideoKind.VIDEO or video.hidden_at is not None:
        raise SceneError("Only playable videos can be shots; GIFs and hidden videos cannot.")
    if video.duration_seconds <= 0:
        raise SceneError("This video has no length to use.")


def add_shot(scene: Scene, video: Video, *, after: SceneShot | None = None) -> SceneShot:
    """Append `video` as a whole shot (or put it right after `after`)."""
    _check_video(scene, video)
    with transaction.atomic():
        scene = Scene.objects.select_for_update().get(pk=scene.pk)
        if scene.shots.count() >= MAX_SHOTS:
            raise SceneError(f"A scene holds at most {MAX_SHOTS} shots.")
        position = _make_room(scene, after)
        shot = SceneShot.objects.create(
            scene=scene,
            video=video,
            position=position,
            in_seconds=0,
            out_seconds=video.duration_seconds,
        )
        _renumber(scene)
    return shot


def _make_room(scene: Scene, after: SceneShot | None) -> int:
    if after is None:
        return scene.shots.count()
    scene.shots.filter(position__gt=after.position).update(position=F("position") + 1)
    return after.position + 1


def move_shot(shot: SceneShot, step: int) -> None:
    """Move one place earlier (-1) or later (+1); at either end nothing moves."""
    with transaction.atomic():
        shots = list(shot.scene.shots.select_for_update().order_by("position", "id"))
        index = next(i for i, item in enumerate(shots) if item.pk == shot.pk)
        target = index + step
        if not 0 <= target < len(shots):
            return
        shots.insert(target, shots.pop(index))
        _save_order(shot.scene, shots)


def reorder(scene: Scene, shot_ids: Sequence[uuid.UUID]) -> None:
    """Put the scene's shots in the order given; the list must name each shot once."""
    with transaction.atomic():
        shots = {item.public_id: item for item in scene.shots.select_for_update()}
        if len(shot_ids) != len(shots) or set(shot_ids) != set(shots):
            raise SceneError("The scene changed meanwhile: reload the page and try again.")
        _save_order(scene, [shots[public_id] for public_id in shot_ids])


def _save_order(scene: Scene, shots: list[SceneShot]) -> None:
    for position, item in enumerate(shots):
        if item.position != position:
            SceneShot.objects.filter(pk=item.pk).update(position=position)
    _renumber(scene)


def check_trim(video: Video, in_seconds: float, out_seconds: float) -> None:
    duration = video.duration_seconds
    if in_seconds < 0 or out_seconds > duration + TRIM_SLACK:
        raise SceneError(f"Trim points must lie inside the clip (0 to {duration:.2f} s).")
    if out_seconds <= in_seconds:
        raise SceneError("The out point must come after the in point.")


def trim_shot(shot: SceneShot, in_seconds: float, out_seconds: float) -> None:
    if shot.video is None:
        raise SceneError("This shot is still waiting for its video.")
    check_trim(shot.video, in_seconds, out_seconds)
    out_seconds = min(out_seconds, shot.video.duration_seconds)
    SceneShot.objects.filter(pk=shot.pk).update(in_seconds=in_seconds, out_seconds=out_seconds)
    shot.in_seconds, shot.out_seconds = in_seconds, out_seconds


def remove_shot(shot: SceneShot) -> None:
    with transaction.atomic():
        shot.delete()
        _renumber(shot.scene)


def set_crossfade(scene: Scene, seconds: float) -> None:
    if not 0 <= seconds <= MAX_CROSSFADE:
        raise SceneError(f"Crossfades last 0 to {MAX_CROSSFADE:g} seconds.")
    Scene.objects.filter(pk=scene.pk).update(crossfade_seconds=seconds)
    scene.crossfade_seconds = seconds


def jump_route(video: Video) -> tuple[str, str]:
    """Where a "Jump to" job runs: the shot's own model if it takes a start frame, else local."""
    job = video.job
    if job is not None and registry.is_enabled(job.provider):
        spec = registry.model_spec(job.provider, job.model)
        if (
            spec is not None
            and Mode.IMG2VIDEO in spec.modes
            and spec.images_for(Mode.IMG2VIDEO)[0] <= 1
        ):
            return job.provider, job.model
    return "local", "draft"


def jump_to(
    shot: SceneShot, user: User, prompt: str, idempotency_key: uuid.UUID | None = None
) -> Job:
    """A frames-to-video job from the shot's last shown frame; its result goes right after it."""
    video = shot.video
    if video is None:
        raise SceneError("This shot is still waiting for its video.")
    provider, model = jump_route(video)
    spec = registry.model_spec(provider, model)
    assert spec is not None  # jump_route only returns known models
    fps = video.fps or 24.0
    at = max(shot.in_seconds, shot.out_seconds - 1.0 / fps)
    try:
        frame = library.frame_to_reference(video, at, user).image
    except library.LibraryError as exc:
        raise SceneError(str(exc)) from exc
    aspect = "9:16" if video.height > video.width else "16:9"
    if aspect not in spec.aspect_ratios:
        aspect = spec.aspect_ratios[0]
    params: dict[str, object] = {"aspect_ratio": aspect}
    if spec.durations:
        params["duration_seconds"] = 8 if 8 in spec.durations else spec.durations[-1]
    with transaction.atomic():
        try:
            job = create_job(
                project=shot.scene.project,
                user=user,
                provider=provider,
                model=model,
                mode=Mode.IMG2VIDEO,
                prompt_text=prompt,
                params=params,
                images=[(frame, "start")],
                idempotency_key=idempotency_key,
            )
        except JobRequestError as exc:
            raise SceneError(str(exc)) from exc
        if not SceneShot.objects.filter(pending_job=job).exists():
            scene = Scene.objects.select_for_update().get(pk=shot.scene_id)
            position = _make_room(scene, shot)
            SceneShot.objects.create(scene=scene, position=position, pending_job=job)
            _renumber(scene)
    return job


def replace_with(shot: SceneShot, job: Job) -> None:
    """Hold `shot` for `job` (an extend of its video): the job's result replaces it."""
    if shot.video is None or job.source_video_id != shot.video_id:
        raise SceneError("Only an edit of this shot's own video can replace it.")
    SceneShot.objects.filter(pk=shot.pk).update(pending_job=job)
    shot.pending_job = job


def place_result(job: Job, video: Video) -> int:
    """Fill every shot waiting for `job` with its new video, whole; returns how many."""
    return SceneShot.objects.filter(pending_job=job).update(
        video=video, in_seconds=0, out_seconds=video.duration_seconds, pending_job=None
    )


def export(scene: Scene, user: User, idempotency_key: uuid.UUID | None = None) -> Job:
    """A local job that renders the scene into one MP4; its lineage lists every shot."""
    shots = list(scene.shots.select_related("video").order_by("position", "id"))
    if not shots:
        raise SceneError("Add at least one shot before exporting the scene.")
    if any(shot.video is None for shot in shots):
        raise SceneError("Some shots are still waiting for their video: export when they are in.")
    for shot in shots:
        assert shot.video is not None
        _check_video(scene, shot.video)
        check_trim(shot.video, shot.in_seconds, shot.out_seconds)
        if len(shots) > 1 and shot.length_seconds <= 2 * scene.crossfade_seconds:
            raise SceneError(
                f"Shot {shot.position + 1} is too short for a "
                f"{scene.crossfade_seconds:g} s crossfade."
            )
    provider, model = EXPORT_PROVIDER
    with transaction.atomic():
        try:
            job = create_job(
                project=scene.project,
                user=user,
                provider=provider,
                model=model,
                mode=Mode.SCENE_EXPORT,
                prompt_text=f"Scene “{scene.name}”",
                params={
                    "scene": str(scene.public_id),
                    "crossfade_seconds": scene.crossfade_seconds,
                },
                idempotency_key=idempotency_key,
            )
        except JobRequestError as exc:
            raise SceneError(str(exc)) from exc
        if not job.export_shots.exists():
            ExportShot.objects.bulk_create(
                ExportShot(
                    job=job,
                    video=shot.video,
                    position=position,
                    in_seconds=shot.in_seconds,
                    out_seconds=shot.out_seconds,
                )
                for position, shot in enumerate(shots)
                if shot.video is not None
            )
    return job


def playlist(scene: Scene) -> list[SceneShot]:
    """The scene's shots in order, with what the player and the builder show."""
    return list(
        scene.shots.select_related("video", "video__job", "pending_job").order_by("position", "id")
    )
