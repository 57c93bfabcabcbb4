"""Read a project archive into a team: checked whole first, then written all or nothing.

Order of work:

1. the zip itself: readable (not truncated or damaged), every member name safe
   (no `../`, no absolute path, no symlink), its declared total size under
   `STUDIO_ARCHIVE_MAX_BYTES` and no member compressed suspiciously well (a zip bomb);
2. the manifest: a format this Studio knows (not a newer one), every record the
   right shape and types, every reference and file name resolvable;
3. every file: present, of the listed size and sha256, and of the kind it claims
   (images decode their header, videos start like an MP4 or a GIF);
4. only then, in one transaction, the rows and the files (through Django's
   storage, whichever backend it is). Any failure rolls the rows back and
   deletes the files already written.

Imported rows get new primary keys and public ids. Nothing is sent anywhere:
a job that was not finished when exported (draft, submitting, queued, running,
needs attention) arrives failed, with a note saying so, and no imported job
ever reaches a provider. Imported jobs charge no credits: the ledger is not
touched, `cost_credits` stays as the record of what the job cost where it ran.
A creator whose username is a member of the target team stays its creator;
anyone else's work is credited to the person importing.
"""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage
from django.db import DatabaseError, transaction
from django.db.models import FileField, Model
from django.utils import timezone

from studio.models import (
    TERMINAL_STATUSES,
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
    Status,
    Team,
    Video,
)
from studio.services import audit, moderation
from studio.services.archives.manifest import (
    MANIFEST_NAME,
    SPECS,
    ArchiveError,
    check,
    safe_member_name,
)
from studio.storage import describe, is_storage_error
from studio.validators import check_image_header

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# Media barely compress; a member that shrank more than this is a zip bomb.
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024
CHUNK = 1024 * 1024
DAMAGED = "The archive is damaged or truncated: {name} cannot be read ({error})."
IMPORT_NOTE = (
    "Imported from another Studio while {status}: it was never sent from this Studio, "
    "so it was marked failed. Run it again to make it here."
)
_MP4_BRANDS = (b"ftyp",)


@dataclass
class ImportResult:
    project: Project
    # old public id -> new public id, for every imported record
    ids: dict[str, str] = field(default_factory=dict)
    files_written: int = 0
    jobs_closed: int = 0
    images_reused: int = 0


def import_project(source: str | Path | IO[bytes], team: Team, user: User) -> ImportResult:
    """Import the archive at `source` (a path or a seekable binary file) into `team`."""
    if team.suspended_at is not None:
        raise ArchiveError(moderation.SUSPENDED_TEAM)
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ArchiveError(
            f"The file is not a readable zip archive: it is damaged or truncated ({exc})."
        ) from None
    with zf:
        infos = _check_members(zf)
        manifest = _read_manifest(zf, infos)
        _check_listed_files(manifest, infos)
        _verify_files(zf, manifest)
        result = _write(zf, manifest, team, user)
    audit.record(
        user,
        "project.imported",
        result.project,
        source_project=manifest["project"]["public_id"],
        studio_version=manifest.get("studio_version", ""),
        jobs=len(manifest["jobs"]),
        videos=len(manifest["videos"]),
    )
    return result


# -- checks, before anything is written ----------------------------------------------


def _check_members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in zf.infolist():
        name = info.filename
        if not safe_member_name(name.rstrip("/") if info.is_dir() else name):
            raise ArchiveError(f"The archive holds a path outside its folder: {name[:80]!r}.")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"The archive holds a symbolic link: {name[:80]!r}.")
        if info.is_dir():
            continue
        if name in infos:
            raise ArchiveError(f"The archive holds {name[:80]!r} twice.")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ArchiveError(
                f"{name[:80]} unpacks to {info.file_size} bytes from {info.compress_size}: "
                "the archive looks like a zip bomb."
            )
        total += info.file_size
        infos[name] = info
    limit = settings.STUDIO_ARCHIVE_MAX_BYTES
    if total > limit:
        raise ArchiveError(
            f"The archive unpacks to {total} bytes, more than this Studio accepts "
            f"({limit} bytes, STUDIO_ARCHIVE_MAX_BYTES)."
        )
    return infos


def _read_manifest(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> dict[str, Any]:
    info = infos.get(MANIFEST_NAME)
    if info is None:
        raise ArchiveError("This is not a Studio project archive: it has no manifest.json.")
    if info.file_size > MAX_MANIFEST_BYTES:
        raise ArchiveError("The manifest is too large to be a Studio project's.")
    try:
        with zf.open(info) as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
        manifest = json.loads(raw.decode("utf-8"))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ArchiveError(DAMAGED.format(name=MANIFEST_NAME, error=exc)) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ArchiveError("The manifest is not valid JSON.") from None
    check(manifest)
    jobs_named = [v["job"] for v in manifest["videos"] if v["job"]]
    if len(set(jobs_named)) != len(jobs_named):
        raise ArchiveError("The manifest is inconsistent: two videos name the same job.")
    return dict(manifest)


def _check_listed_files(manifest: dict[str, Any], infos: dict[str, zipfile.ZipInfo]) -> None:
    listed = {f["path"]: f for f in manifest["files"]}
    for path, entry in listed.items():
        info = infos.get(path)
        if info is None:
            raise ArchiveError(f"The manifest names {path}, which is missing from the archive.")
        if info.file_size != entry["size"]:
            raise ArchiveError(
                f"{path} is {info.file_size} bytes in the archive but {entry['size']} in its "
                "manifest: the archive was changed after export."
            )
    extra = sorted(set(infos) - set(listed) - {MANIFEST_NAME})
    if extra:
        raise ArchiveError(f"The archive holds a file its manifest does not list: {extra[0][:80]}.")


def _kinds(manifest: dict[str, Any]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for record in manifest["reference_images"]:
        kinds[record["file"]] = "image"
    for record in manifest["masks"]:
        kinds[record["file"]] = "image"
    for record in manifest["videos"]:
        kinds[record["file"]] = "gif" if record["content_type"] == "image/gif" else "mp4"
        for name in (record["poster"], record["thumbnail"]):
            if name:
                kinds[name] = "image"
    return kinds


def _verify_files(zf: zipfile.ZipFile, manifest: dict[str, Any]) -> None:
    kinds = _kinds(manifest)
    hashes: dict[str, str] = {}
    for entry in manifest["files"]:
        path = entry["path"]
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            with zf.open(path) as fh:
                while chunk := fh.read(CHUNK):
                    if not head:
                        head = chunk[:16]
                    size += len(chunk)
                    digest.update(chunk)
                    if size > entry["size"]:
                        break
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ArchiveError(DAMAGED.format(name=path, error=exc)) from None
        if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
            raise ArchiveError(
                f"{path} does not match its sha256 in the manifest: the archive was changed "
                "or damaged after export."
            )
        hashes[path] = entry["sha256"]
        _check_kind(zf, path, kinds.get(path), head)
    for index, record in enumerate(manifest["reference_images"]):
        if hashes[record["file"]] != record["sha256"]:
            raise ArchiveError(
                f"The manifest is inconsistent: reference_images[{index}].sha256 is not "
                "the hash of its file."
            )


def _check_kind(zf: zipfile.ZipFile, path: str, kind: str | None, head: bytes) -> None:
    if kind == "mp4" and head[4:8] not in _MP4_BRANDS:
        raise ArchiveError(f"{path} is not an MP4 video.")
    if kind == "gif" and not head.startswith(b"GIF8"):
        raise ArchiveError(f"{path} is not a GIF.")
    if kind == "image":
        try:
            with zf.open(path) as fh:
                check_image_header(fh, zf.getinfo(path).file_size)
        except ValidationError as exc:
            raise ArchiveError(f"{path}: {exc.messages[0]}") from None


# -- writing, all or nothing ---------------------------------------------------------


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _fields(record: dict[str, Any], section: str, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's own values as model keyword arguments (references and files left out)."""
    out: dict[str, Any] = {}
    for name in SPECS[section]:
        if name in skip or name in ("public_id", "created_by", "created_at", "updated_at"):
            continue
        value = record[name]
        out[name] = _when(value) if name.endswith("_at") and value is not None else value
    return out


class _Writer:
    def __init__(self, zf: zipfile.ZipFile, team: Team, importer: User) -> None:
        self.zf = zf
        self.written: list[tuple[Storage, str]] = []
        self.stored: dict[str, str] = {}  # archive path -> storage name
        self.result: ImportResult
        self.ids: dict[str, Model] = {}
        self.stamps: list[tuple[Model, dict[str, datetime | None]]] = []
        members = get_user_model().objects.filter(memberships__team=team)
        self.users: dict[str, User] = {u.get_username(): u for u in members}
        self.importer = importer

    def user(self, name: str | None) -> User | None:
        # Nobody (a creator deleted before the export) stays nobody.
        return None if name is None else self.users.get(name, self.importer)

    def store(self, owner: Model, field_name: str, path: str) -> None:
        """Copy one archive member into storage under the name the field would give it."""
        field = owner._meta.get_field(field_name)
        assert isinstance(field, FileField)
        info = self.zf.getinfo(path)
        with self.zf.open(info) as handle:
            content = File(handle, name=path.rsplit("/", 1)[-1])
            # Django would otherwise guess the size from a path named like the member.
            content.size = info.file_size
            name = field.generate_filename(owner, content.name or "file")
            stored = field.storage.save(name, content, max_length=field.max_length)
        self.written.append((field.storage, stored))
        self.stored[path] = stored

    def keep(self, old: str, obj: Model, record: dict[str, Any]) -> None:
        self.ids[old] = obj
        self.result.ids[old] = str(obj.public_id)  # type: ignore[attr-defined]
        self.stamp(obj, record)

    def stamp(self, obj: Model, record: dict[str, Any]) -> None:
        stamps: dict[str, datetime | None] = {
            k: _when(record[k]) for k in ("created_at", "updated_at") if k in record
        }
        self.stamps.append((obj, stamps))

    def get(self, old: str | None) -> Any:
        return self.ids[old] if old else None

    def delete_files(self) -> None:
        for storage, name in self.written:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - remove what can be removed; the import's error matters
                continue


def _write(zf: zipfile.ZipFile, manifest: dict[str, Any], team: Team, user: User) -> ImportResult:
    w = _Writer(zf, team, user)
    try:
        # Files first, outside the transaction: copying gigabytes must not hold the
        # database's write lock (on SQLite that would stall the worker).
        _store_files(w, manifest, team)
        with transaction.atomic():
            _write_rows(w, manifest, team)
    except ArchiveError:
        w.delete_files()
        raise
    except (DatabaseError, ValueError, LookupError, OSError) as exc:
        w.delete_files()
        raise ArchiveError(f"The project could not be written, nothing was kept: {exc}") from exc
    except BaseException as exc:
        w.delete_files()
        if is_storage_error(exc):
            raise ArchiveError(f"Media storage failed, nothing was kept: {describe(exc)}.") from exc
        raise
    w.result.project.refresh_from_db()
    w.result.files_written = len(w.written)
    return w.result


def _store_files(w: _Writer, manifest: dict[str, Any], team: Team) -> None:
    # Only the team is read by the upload_to functions: unsaved owners are enough.
    for r in manifest["reference_images"]:
        if not ReferenceImage.objects.filter(team=team, sha256=r["sha256"]).exists():
            w.store(ReferenceImage(team=team), "file", r["file"])
    for r in manifest["videos"]:
        for name in ("file", "poster", "thumbnail"):
            if r[name]:
                w.store(Video(team=team), name, r[name])
    for r in manifest["masks"]:
        w.store(Mask(team=team), "file", r["file"])


def _write_rows(w: _Writer, manifest: dict[str, Any], team: Team) -> None:
    p = manifest["project"]
    project = Project.objects.create(
        team=team, created_by=w.user(p["created_by"]), **_fields(p, "project")
    )
    w.result = ImportResult(project=project)
    w.keep(p["public_id"], project, p)
    for r in manifest["prompts"]:
        prompt = Prompt.objects.create(
            team=team,
            project=project,
            created_by=w.user(r["created_by"]),
            **_fields(r, "prompts", skip=("parent",)),
        )
        w.keep(r["public_id"], prompt, r)
    new_images: list[tuple[ReferenceImage, dict[str, Any]]] = []
    for r in manifest["reference_images"]:
        existing = ReferenceImage.objects.filter(team=team, sha256=r["sha256"]).first()
        if existing is not None:
            # The library keeps one copy of a picture per team.
            w.ids[r["public_id"]] = existing
            w.result.ids[r["public_id"]] = str(existing.public_id)
            w.result.images_reused += 1
            continue
        image = ReferenceImage(
            team=team,
            created_by=w.user(r["created_by"]),
            **_fields(r, "reference_images", skip=("file", "source_video")),
        )
        image.file = w.stored[r["file"]]
        image.save()
        w.keep(r["public_id"], image, r)
        new_images.append((image, r))
    for r in manifest["videos"]:
        video = Video(
            team=team,
            project=project,
            created_by=w.user(r["created_by"]),
            **_fields(r, "videos", skip=("job", "parent", "file", "poster", "thumbnail")),
        )
        for name in ("file", "poster", "thumbnail"):
            setattr(video, name, w.stored[r[name]] if r[name] else "")
        video.save()
        w.keep(r["public_id"], video, r)
    for r in manifest["masks"]:
        mask = Mask(
            team=team,
            video=w.get(r["video"]),
            created_by=w.user(r["created_by"]),
            **_fields(r, "masks", skip=("video", "file")),
        )
        mask.file = w.stored[r["file"]]
        mask.save()
        w.keep(r["public_id"], mask, r)
    _write_jobs(w, manifest, team, project)
    _write_scenes(w, manifest, team, project)
    # References that may point forward in the archive's order.
    for r in manifest["prompts"]:
        if r["parent"]:
            Prompt.objects.filter(pk=w.get(r["public_id"]).pk).update(parent=w.get(r["parent"]))
    for image, r in new_images:
        if r["source_video"]:
            ReferenceImage.objects.filter(pk=image.pk).update(source_video=w.get(r["source_video"]))
    for r in manifest["videos"]:
        if r["job"] or r["parent"]:
            Video.objects.filter(pk=w.get(r["public_id"]).pk).update(
                job=w.get(r["job"]), parent=w.get(r["parent"])
            )
    for r in manifest["jobs"]:
        if r["rerun_of"]:
            Job.objects.filter(pk=w.get(r["public_id"]).pk).update(rerun_of=w.get(r["rerun_of"]))
    # auto_now and auto_now_add wrote the import's time: put the archive's back.
    for obj, stamps in w.stamps:
        type(obj)._default_manager.filter(pk=obj.pk).update(**stamps)


def _write_jobs(w: _Writer, manifest: dict[str, Any], team: Team, project: Project) -> None:
    now = timezone.now()
    taken: set[tuple[str, str]] = set()
    for r in manifest["jobs"]:
        values = _fields(
            r,
            "jobs",
            skip=("prompt", "source_video", "mask", "rerun_of", "inputs", "events", "export_shots"),
        )
        notes = []
        upstream = (r["provider"], r["upstream_id"])
        if r["upstream_id"] and (
            upstream in taken
            or Job.objects.filter(provider=r["provider"], upstream_id=r["upstream_id"]).exists()
        ):
            # The same upstream job is already recorded here (an archive imported twice).
            values["upstream_id"] = ""
            notes.append(f"Its upstream id {r['upstream_id']} is already recorded in this Studio.")
        taken.add(upstream)
        closed = r["status"] not in TERMINAL_STATUSES
        if closed:
            note = IMPORT_NOTE.format(status=Status(r["status"]).label.lower())
            values.update(
                status=Status.FAILED,
                fail_reason="",
                error_message=note,
                finished_at=now,
            )
            notes.insert(0, note)
            w.result.jobs_closed += 1
        job = Job.objects.create(
            team=team,
            project=project,
            created_by=w.user(r["created_by"]),
            prompt=w.get(r["prompt"]),
            source_video=w.get(r["source_video"]),
            mask=w.get(r["mask"]),
            **values,
        )
        w.keep(r["public_id"], job, r)
        for item in r["inputs"]:
            JobInput.objects.create(
                job=job, image=w.get(item["image"]), **_fields(item, "jobs.inputs", skip=("image",))
            )
        for item in r["events"]:
            event = JobEvent.objects.create(job=job, **_fields(item, "jobs.events"))
            w.stamp(event, item)
        if notes:
            JobEvent.objects.create(
                job=job,
                from_status=r["status"],
                to_status=job.status,
                reason=" ".join(notes),
            )
        for item in r["export_shots"]:
            ExportShot.objects.create(
                job=job,
                video=w.get(item["video"]),
                **_fields(item, "jobs.export_shots", skip=("video",)),
            )


def _write_scenes(w: _Writer, manifest: dict[str, Any], team: Team, project: Project) -> None:
    for r in manifest["scenes"]:
        scene = Scene.objects.create(
            team=team,
            project=project,
            created_by=w.user(r["created_by"]),
            **_fields(r, "scenes", skip=("shots",)),
        )
        w.keep(r["public_id"], scene, r)
        for item in r["shots"]:
            shot = SceneShot.objects.create(
                scene=scene,
                video=w.get(item["video"]),
                pending_job=w.get(item["pending_job"]),
                **_fields(item, "scenes.shots", skip=("video", "pending_job")),
            )
            w.keep(item["public_id"], shot, item)
