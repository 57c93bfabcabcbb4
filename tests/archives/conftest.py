"""A rich project to archive, and helpers that read archives and count what is stored."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db.models import Model

from studio.models import (
    ExportShot,
    Job,
    JobEvent,
    JobInput,
    LedgerEntry,
    Mask,
    Mode,
    Project,
    Prompt,
    ReferenceImage,
    Scene,
    SceneShot,
    Status,
    Video,
    VideoKind,
)
from studio.services import scenes
from studio.services.archives import export_project
from tests import factories

MODELS: tuple[type[Model], ...] = (
    Project,
    Prompt,
    ReferenceImage,
    Video,
    Mask,
    Job,
    JobInput,
    JobEvent,
    ExportShot,
    Scene,
    SceneShot,
    LedgerEntry,
)


@dataclass
class Rich:
    project: Project
    t2v: Video
    i2v: Video
    removal: Video
    upscale: Video
    extend: Video
    export: Video
    running: Job


def make_rich_project(project: Project, owner: User, editor: User) -> Rich:
    """Every kind of record and relation a project can hold, files included."""
    team = project.team
    first = Prompt.objects.create(team=team, project=project, text="A harbour", created_by=owner)
    second = Prompt.objects.create(
        team=team, project=project, text="A harbour at dawn", parent=first, created_by=editor
    )
    t2v = factories.make_output(project, owner, prompt=second, prompt_text=second.text)
    JobEvent.objects.create(job=t2v.job, from_status=Status.DRAFT, to_status=Status.RUNNING)
    t2v.media_id = "media-123"
    t2v.save()
    start = factories.make_reference(team, (10, 120, 200))
    frame = factories.make_reference(team, (30, 200, 30))
    ReferenceImage.objects.filter(pk=frame.pk).update(source_video=t2v, created_by=editor)
    i2v = factories.make_output(
        project,
        editor,
        mode=Mode.IMG2VIDEO,
        provider="mountsea",
        model="veo31_fast",
        upstream_id="ms-archive-1",
        cost_credits=7,
        raw_result={"status": "done", "urls": ["https://example.invalid/v.mp4"]},
    )
    for position, (image, role) in enumerate(((start, "start"), (frame, "end"))):
        JobInput.objects.create(
            job=i2v.job, image=image, position=position, role=role, sha256=image.sha256
        )
    mask = Mask(team=team, video=t2v, width=160, height=90, coverage=0.2, created_by=editor)
    mask.frame_seconds = 0.5
    mask.file.save("mask.jpg", ContentFile(factories.mask_jpeg(160, 90)), save=False)
    mask.save()
    removal = factories.make_output(
        project, editor, mode=Mode.REMOVAL, source_video=t2v, mask=mask, parent=t2v
    )
    upscale = factories.make_output(
        project, owner, mode=Mode.UPSCALE, source_video=t2v, parent=t2v, params={"target": "4k"}
    )
    factories.make_output(
        project,
        owner,
        mode=Mode.GIF,
        source_video=upscale,
        parent=upscale,
        kind=VideoKind.GIF,
        data=factories.image_bytes("GIF"),
    )
    extend = factories.make_output(
        project, editor, mode=Mode.EXTEND, source_video=i2v, parent=i2v, params={"seconds": 4}
    )
    factories.make_job(project, owner, status=Status.FAILED, rerun_of=t2v.job, error_message="x")
    scene = scenes.create_scene(project, owner, "Opening")
    scenes.add_shot(scene, t2v)
    shot = scenes.add_shot(scene, upscale)
    scenes.trim_shot(shot, 0.25, 0.75)
    scenes.set_crossfade(scene, 0.5)
    export = factories.make_output(project, owner, mode=Mode.SCENE_EXPORT)
    for position, (video, start_s, end_s) in enumerate(((t2v, 0, 1), (upscale, 0.25, 0.75))):
        ExportShot.objects.create(
            job=export.job,
            video=video,
            position=position,
            in_seconds=start_s,
            out_seconds=end_s,
        )
    running = factories.make_job(
        project,
        editor,
        status=Status.RUNNING,
        provider="mountsea",
        model="veo31_fast",
        upstream_id="ms-archive-2",
        progress=40,
        cost_credits=5,
    )
    SceneShot.objects.create(scene=scene, position=2, pending_job=running)
    project.refresh_from_db()
    return Rich(project, t2v, i2v, removal, upscale, extend, export, running)


@pytest.fixture
def rich(cast: Any) -> Rich:
    return make_rich_project(cast.project, cast.owner, cast.editor)


def export_to(project: Project, path: Path) -> dict[str, Any]:
    with path.open("wb") as out:
        return export_project(project, out)


def read_manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return dict(json.loads(zf.read("manifest.json")))


def rewrite(
    path: Path,
    dest: Path,
    change: Any = None,
    members: dict[str, bytes | None] | None = None,
    extra: list[tuple[zipfile.ZipInfo, bytes]] = (),  # type: ignore[assignment]
) -> Path:
    """A copy of the archive with its manifest passed through `change`, members replaced
    (None drops one) and `extra` members added."""
    members = dict(members or {})
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(dest, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename in members:
                replaced = members.pop(info.filename)
                if replaced is None:
                    continue
                data = replaced
            if info.filename == "manifest.json" and change is not None:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            out.writestr(info, data)
        for name, data in members.items():
            if data is not None:
                out.writestr(name, data)
        for info, data in extra:
            out.writestr(info, data)
    return dest


def stored_files() -> dict[str, str]:
    """Every file in media storage (the test's MEDIA_ROOT) by path, with its sha256."""
    root = Path(settings.MEDIA_ROOT)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def row_counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in MODELS}


def zip_bytes(**members: bytes) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    out.seek(0)
    return out
