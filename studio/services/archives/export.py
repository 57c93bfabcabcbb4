"""Write one project as an archive: manifest.json plus its media under files/.

The zip is written to a file object the caller owns (a temporary file for the
web, a path for the command), file by file from storage, so a large project is
never held in memory. Media are stored uncompressed (MP4, JPEG and PNG do not
shrink); the manifest is deflated and written last, once every file's sha256 is
known.

Left out, on purpose: videos staff hid and everything moderation withholds with
them (their lineage, their frames), so an export cannot carry hidden media out;
engine internals (leases, claim tokens, idempotency keys); per-user data
(favourites, reports, share links); the credit ledger (it belongs to the team).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from django.db.models import Model, Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from studio.models import (
    ExportShot,
    Job,
    JobEvent,
    JobInput,
    Mask,
    Project,
    Prompt,
    ReferenceImage,
    Scene,
    SceneShot,
    Video,
)
from studio.services.archives.manifest import (
    FILES_DIR,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    SPECS,
    ArchiveError,
    studio_version,
)
from studio.storage import describe, is_storage_error

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CHUNK = 1024 * 1024


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plain(obj: Model, section: str, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record's own fields (not references, users or files), as JSON values."""
    out: dict[str, Any] = {}
    for field in SPECS[section]:
        if field in skip or field in ("public_id", "created_by"):
            continue
        value = getattr(obj, field)
        out[field] = _iso(value) if isinstance(value, datetime) else value
    return out


def _user(obj: Any) -> str | None:
    user = getattr(obj, "created_by", None)
    return user.get_username() if user is not None else None


class _Writer:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.files: list[dict[str, Any]] = []

    def add(self, field: FieldFile, name: str) -> str | None:
        """Copy one stored file into the zip; its archive path."""
        if not field:
            return None
        path = f"{FILES_DIR}/{name}"
        digest, size = hashlib.sha256(), 0
        info = zipfile.ZipInfo(path, date_time=timezone.now().timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED
        try:
            with (
                field.storage.open(field.name or "", "rb") as handle,
                self.zf.open(info, "w", force_zip64=True) as out,
            ):
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except FileNotFoundError as exc:
            raise ArchiveError(
                f"The file {field.name} is missing from storage, so the project cannot be "
                "exported whole."
            ) from exc
        except Exception as exc:
            if is_storage_error(exc):
                raise ArchiveError(
                    f"Media storage failed during the export: {describe(exc)}."
                ) from exc
            raise
        self.files.append({"path": path, "size": size, "sha256": digest.hexdigest()})
        return path


def _ext(field: FieldFile, default: str) -> str:
    name = field.name or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else default
    return ext if ext.isalnum() and len(ext) <= 8 else default


def collect(project: Project) -> dict[str, list[Any]]:
    """The project's rows that go into its archive (moderation's withheld ones left out)."""
    videos = list(
        Video.objects.filter(project=project, hidden_at__isnull=True)
        .select_related("created_by")
        .order_by("created_at", "id")
    )
    video_ids = {v.pk for v in videos}
    jobs = list(
        Job.objects.filter(project=project, hidden_at__isnull=True)
        .select_related("created_by")
        .order_by("created_at", "id")
    )
    job_ids = {j.pk for j in jobs}
    images = list(
        ReferenceImage.objects.filter(uses__job_id__in=job_ids)
        .filter(Q(source_video__isnull=True) | Q(source_video__hidden_at__isnull=True))
        .select_related("created_by")
        .distinct()
        .order_by("created_at", "id")
    )
    return {
        "prompts": list(
            Prompt.objects.filter(project=project)
            .select_related("created_by")
            .order_by("created_at", "id")
        ),
        "reference_images": images,
        "videos": videos,
        "masks": list(
            Mask.objects.filter(video_id__in=video_ids)
            .select_related("created_by")
            .order_by("created_at", "id")
        ),
        "jobs": jobs,
        "inputs": list(JobInput.objects.filter(job_id__in=job_ids).order_by("job_id", "position")),
        "events": list(JobEvent.objects.filter(job_id__in=job_ids).order_by("created_at", "id")),
        "export_shots": list(
            ExportShot.objects.filter(job_id__in=job_ids, video_id__in=video_ids).order_by(
                "job_id", "position"
            )
        ),
        "scenes": list(
            Scene.objects.filter(project=project)
            .select_related("created_by")
            .order_by("created_at", "id")
        ),
        "shots": list(
            SceneShot.objects.filter(scene__project=project).order_by("scene_id", "position", "id")
        ),
    }


def export_project(
    project: Project, out: IO[bytes], exported_by: User | None = None
) -> dict[str, Any]:
    """Write the archive of `project` to `out` (a seekable binary file); its manifest."""
    rows = collect(project)
    pid: dict[tuple[str, int], str] = {}
    for section in ("prompts", "reference_images", "videos", "masks", "jobs"):
        for obj in rows[section]:
            pid[(section, obj.pk)] = str(obj.public_id)

    def ref(section: str, pk: int | None) -> str | None:
        # A reference to a row outside the archive (another project, a withheld video) is dropped.
        return pid.get((section, pk)) if pk is not None else None

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        writer = _Writer(zf)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "studio_version": studio_version(),
            "exported_at": timezone.now().isoformat(),
            "exported_by": exported_by.get_username() if exported_by is not None else None,
            "source_team": {"public_id": str(project.team.public_id), "name": project.team.name},
            "project": {
                "public_id": str(project.public_id),
                "created_by": _user(project),
                **_plain(project, "project"),
            },
        }
        manifest["prompts"] = [
            {
                "public_id": str(p.public_id),
                "created_by": _user(p),
                **_plain(p, "prompts", skip=("parent",)),
                "parent": ref("prompts", p.parent_id),
            }
            for p in rows["prompts"]
        ]
        manifest["reference_images"] = [
            {
                "public_id": str(i.public_id),
                "created_by": _user(i),
                **_plain(i, "reference_images", skip=("file", "source_video")),
                "file": writer.add(i.file, f"references/{i.public_id}.{_ext(i.file, 'png')}"),
                "source_video": ref("videos", i.source_video_id),
            }
            for i in rows["reference_images"]
        ]
        manifest["videos"] = [
            {
                "public_id": str(v.public_id),
                "created_by": _user(v),
                **_plain(v, "videos", skip=("job", "parent", "file", "poster", "thumbnail")),
                "job": ref("jobs", v.job_id),
                "parent": ref("videos", v.parent_id),
                "file": writer.add(v.file, f"videos/{v.public_id}.{_ext(v.file, 'mp4')}"),
                "poster": writer.add(
                    v.poster, f"videos/{v.public_id}-poster.{_ext(v.poster, 'jpg')}"
                ),
                "thumbnail": writer.add(
                    v.thumbnail, f"videos/{v.public_id}-thumbnail.{_ext(v.thumbnail, 'jpg')}"
                ),
            }
            for v in rows["videos"]
        ]
        manifest["masks"] = [
            {
                "public_id": str(m.public_id),
                "created_by": _user(m),
                **_plain(m, "masks", skip=("video", "file")),
                "video": ref("videos", m.video_id),
                "file": writer.add(m.file, f"masks/{m.public_id}.{_ext(m.file, 'jpg')}"),
            }
            for m in rows["masks"]
        ]
        manifest["jobs"] = _jobs(rows, ref)
        manifest["scenes"] = _scenes(rows, ref)
        manifest["files"] = writer.files
        info = zipfile.ZipInfo(MANIFEST_NAME, date_time=timezone.now().timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def _jobs(rows: dict[str, list[Any]], ref: Any) -> list[dict[str, Any]]:
    by_job: dict[str, dict[int, list[Any]]] = {"inputs": {}, "events": {}, "export_shots": {}}
    for kind, items in by_job.items():
        for item in rows[kind]:
            items.setdefault(item.job_id, []).append(item)
    out = []
    for j in rows["jobs"]:
        skip = ("prompt", "source_video", "mask", "rerun_of", *by_job)
        out.append(
            {
                "public_id": str(j.public_id),
                "created_by": _user(j),
                **_plain(j, "jobs", skip=skip),
                "prompt": ref("prompts", j.prompt_id),
                "source_video": ref("videos", j.source_video_id),
                "mask": ref("masks", j.mask_id),
                "rerun_of": ref("jobs", j.rerun_of_id),
                "inputs": [
                    {
                        **_plain(i, "jobs.inputs", skip=("image",)),
                        "image": ref("reference_images", i.image_id),
                    }
                    for i in by_job["inputs"].get(j.pk, [])
                    if ref("reference_images", i.image_id) is not None
                ],
                "events": [_plain(e, "jobs.events") for e in by_job["events"].get(j.pk, [])],
                "export_shots": [
                    {
                        **_plain(s, "jobs.export_shots", skip=("video",)),
                        "video": ref("videos", s.video_id),
                    }
                    for s in by_job["export_shots"].get(j.pk, [])
                ],
            }
        )
    return out


def _scenes(rows: dict[str, list[Any]], ref: Any) -> list[dict[str, Any]]:
    shots: dict[int, list[SceneShot]] = {}
    for shot in rows["shots"]:
        shots.setdefault(shot.scene_id, []).append(shot)
    return [
        {
            "public_id": str(s.public_id),
            "created_by": _user(s),
            **_plain(s, "scenes", skip=("shots",)),
            "shots": [
                {
                    "public_id": str(shot.public_id),
                    **_plain(shot, "scenes.shots", skip=("video", "pending_job")),
                    "video": ref("videos", shot.video_id),
                    "pending_job": ref("jobs", shot.pending_job_id),
                }
                for shot in shots.get(s.pk, [])
            ],
        }
        for s in rows["scenes"]
    ]
