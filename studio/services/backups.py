"""Backup and restore of an embedded Studio: the SQLite database and the media folder.

A backup is a folder:

    backup.json        what is in it: format, Studio version, time, and the
                       size and sha256 of the database and of every media file
    studio.sqlite3     a consistent copy made with SQLite's online backup API
                       (web and worker may keep running while it is taken)
    media/...          the media files, as stored

The database is copied first and the media after it, so every file a row names
is in the backup (a file deleted in between is the one exception, and Studio
deletes files only when a creator deletes a reference image); files made after
the database copy may come along as harmless extras.

Restore checks the whole backup against backup.json before it changes
anything, then replaces the database and makes the media folder equal to the
backup's (extra files are removed). Stop Studio first: restore refuses while
the worker's heartbeat is fresh, unless forced.

Scaled mode (PostgreSQL, S3) is backed up with the database's and the
bucket's own tools; docs/operations.md gives the commands.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.utils import timezone

from studio.models import WorkerHeartbeat
from studio.services.archives.manifest import studio_version

FORMAT = "studio.backup"
FORMAT_VERSION = 1
INFO_NAME = "backup.json"
DATABASE_NAME = "studio.sqlite3"
MEDIA_DIR = "media"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why."""


@dataclass(frozen=True)
class Summary:
    path: Path
    database_bytes: int
    media_files: int
    media_bytes: int


def _embedded() -> tuple[Path, Path]:
    """The database file and the media folder, or BackupError in scaled mode."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        raise BackupError(
            "This Studio runs on PostgreSQL: back it up with pg_dump and copy its media "
            "bucket (docs/operations.md, 'Scaled mode')."
        )
    storage = storages["default"]
    if not isinstance(storage, FileSystemStorage):
        raise BackupError(
            "Media are not on local disk: copy the media bucket with its own tools "
            "(docs/operations.md, 'Scaled mode')."
        )
    return Path(db["NAME"]), Path(storage.location)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _media_files(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def backup(dest: Path) -> Summary:
    database, media = _embedded()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: give a new folder for the backup.")
    dest.mkdir(parents=True, exist_ok=True)
    copy = dest / DATABASE_NAME
    source = sqlite3.connect(database)
    target = sqlite3.connect(copy)
    try:
        # One consistent snapshot, even while web and worker write.
        source.backup(target)
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
        # A plain rollback-journal file restores anywhere, whatever the live one used.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()
    if check != "ok":
        raise BackupError(f"The database copy failed its integrity check: {check}")
    files: list[dict[str, Any]] = []
    for path in _media_files(media):
        relative = path.relative_to(media).as_posix()
        out = dest / MEDIA_DIR / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out)
        files.append({"path": relative, "size": out.stat().st_size, "sha256": _sha256(out)})
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "studio_version": studio_version(),
        "created_at": timezone.now().isoformat(),
        "database": {"file": DATABASE_NAME, "size": copy.stat().st_size, "sha256": _sha256(copy)},
        "media": files,
    }
    (dest / INFO_NAME).write_text(json.dumps(info, indent=1))
    return Summary(dest, copy.stat().st_size, len(files), sum(f["size"] for f in files))


def _read_info(src: Path) -> dict[str, Any]:
    try:
        info = json.loads((src / INFO_NAME).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} holds no {INFO_NAME}: it is not a Studio backup.") from None
    except (ValueError, OSError) as exc:
        raise BackupError(f"{INFO_NAME} cannot be read: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise BackupError(f"{src} is not a Studio backup.")
    if info.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"The backup has format version {info.get('format_version')}; this Studio "
            f"restores version {FORMAT_VERSION}."
        )
    return info


def verify(src: Path) -> dict[str, Any]:
    """Check every file of a backup against its backup.json; the info, or BackupError."""
    info = _read_info(src)
    entries = [(DATABASE_NAME, src / DATABASE_NAME, info["database"])]
    for entry in info["media"]:
        relative = Path(entry["path"])
        if relative.is_absolute() or ".." in relative.parts:
            raise BackupError(f"The backup names a file outside its folder: {entry['path']}")
        entries.append((entry["path"], src / MEDIA_DIR / relative, entry))
    for name, path, entry in entries:
        if not path.is_file():
            raise BackupError(f"The backup is incomplete: {name} is missing.")
        if path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            raise BackupError(f"The backup is damaged: {name} does not match its sha256.")
    return info


def _worker_alive() -> bool:
    try:
        latest = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True)
        beat = latest.first()
    except Exception:  # noqa: BLE001 - an empty or broken database has no live worker
        return False
    age = timedelta(seconds=settings.STUDIO_WORKER_HEARTBEAT_MAX_AGE)
    return beat is not None and timezone.now() - beat < age


def restore(src: Path, *, force: bool = False) -> Summary:
    database, media = _embedded()
    info = verify(src)
    if not force and _worker_alive():
        raise BackupError(
            "Studio's worker is running (its heartbeat is fresh): stop Studio before "
            "restoring, or pass --force."
        )
    # Django's own connection must not keep pages of the database being replaced.
    connection.close()
    source = sqlite3.connect(f"file:{src / DATABASE_NAME}?mode=ro", uri=True)
    target = sqlite3.connect(database)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    wanted = {entry["path"] for entry in info["media"]}
    for entry in info["media"]:
        out = media / entry["path"]
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / MEDIA_DIR / entry["path"], out)
    for path in _media_files(media):
        if path.relative_to(media).as_posix() not in wanted:
            os.unlink(path)
    total = sum(int(e["size"]) for e in info["media"])
    return Summary(src, int(info["database"]["size"]), len(wanted), total)
