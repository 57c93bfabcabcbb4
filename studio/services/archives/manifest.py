"""The manifest of a project archive: what each record holds, and the checks an import runs.

An archive is a zip with `manifest.json` and the media under `files/`. Records
name each other by their public id (a video's `job`, a job's `source_video`)
and users by username; every file is listed once in `files` with its size and
sha256, and records name files by that archive path. Format version 1 is
described field by field in docs/operations.md.

Everything here is pure: it reads a parsed manifest and raises `ArchiveError`
with a sentence naming the record and field that is wrong, so an import can be
refused before it writes anything.
"""

from __future__ import annotations

import math
import re
import tomllib
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from studio.models import FailReason, InputRole, Mode, Status, VideoKind

FORMAT = "studio.project-archive"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
FILES_DIR = "files"

REFERENCE_TYPES = frozenset({"image/jpeg", "image/png"})
# Media views serve a file with its stored type: only the types Studio itself
# writes may come in, never text/html or the like from a crafted archive.
VIDEO_TYPES = frozenset({"video/mp4", "image/gif"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@cache
def studio_version() -> str:
    """This Studio's version, as pyproject.toml states it."""
    with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


class ArchiveError(Exception):
    """An archive that cannot be exported or imported; the message says why."""


Check = Callable[[Any], bool]


def _str(max_length: int | None = None) -> Check:
    return lambda v: isinstance(v, str) and (max_length is None or len(v) <= max_length)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _float(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _uuid(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        uuid.UUID(v)
    except ValueError:
        return False
    return True


def _datetime(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        return datetime.fromisoformat(v).tzinfo is not None
    except ValueError:
        return False


def _one_of(values: Iterable[str]) -> Check:
    allowed = frozenset(values)
    return lambda v: isinstance(v, str) and v in allowed


def _hex64(v: Any) -> bool:
    return isinstance(v, str) and bool(_HEX64.match(v))


def _any_json(v: Any) -> bool:
    return True


def _dict(v: Any) -> bool:
    return isinstance(v, dict)


def _optional(check: Check) -> Check:
    return lambda v: v is None or check(v)


USER = _optional(_str(150))
REF = _optional(_uuid)
FILE = _str(400)
OPTIONAL_FILE = _optional(FILE)

# What each record holds: field -> check. References to other records are
# listed in REFERENCES, file fields in FILE_FIELDS.
SPECS: dict[str, dict[str, Check]] = {
    "project": {
        "public_id": _uuid,
        "name": _str(120),
        "archived_at": _optional(_datetime),
        "created_by": USER,
        "created_at": _datetime,
        "updated_at": _datetime,
    },
    "prompts": {
        "public_id": _uuid,
        "text": _str(),
        "parent": REF,
        "created_by": USER,
        "created_at": _datetime,
    },
    "reference_images": {
        "public_id": _uuid,
        "file": FILE,
        "sha256": _hex64,
        "content_type": _one_of(REFERENCE_TYPES),
        "width": _int,
        "height": _int,
        "size_bytes": _int,
        "original_name": _str(255),
        "source_video": REF,
        "created_by": USER,
        "created_at": _datetime,
    },
    "videos": {
        "public_id": _uuid,
        "job": REF,
        "parent": REF,
        "kind": _one_of(VideoKind.values),
        "file": FILE,
        "poster": OPTIONAL_FILE,
        "thumbnail": OPTIONAL_FILE,
        "content_type": _one_of(VIDEO_TYPES),
        "size_bytes": _int,
        "sha256": lambda v: v == "" or _hex64(v),
        "duration_seconds": _float,
        "width": _int,
        "height": _int,
        "fps": _float,
        "codec": _str(32),
        "has_audio": _bool,
        "media_id": _str(200),
        "created_by": USER,
        "created_at": _datetime,
    },
    "masks": {
        "public_id": _uuid,
        "video": _uuid,
        "file": FILE,
        "width": _int,
        "height": _int,
        "frame_seconds": _float,
        "coverage": _float,
        "created_by": USER,
        "created_at": _datetime,
    },
    "jobs": {
        "public_id": _uuid,
        "created_by": USER,
        "provider": _str(32),
        "model": _str(64),
        "mode": _one_of(Mode.values),
        "status": _one_of(Status.values),
        "prompt": REF,
        "prompt_text": _str(),
        "params": _dict,
        "source_video": REF,
        "mask": REF,
        "cost_credits": _int,
        "rerun_of": REF,
        "reviewed_at": _optional(_datetime),
        "upstream_id": _str(200),
        "upstream_status": _str(60),
        "raw_result": _any_json,
        "progress": _optional(_int),
        "submit_attempts": _int,
        "poll_attempts": _int,
        "error_message": _str(),
        "fail_reason": lambda v: v == "" or _one_of(FailReason.values)(v),
        "submitted_at": _optional(_datetime),
        "finished_at": _optional(_datetime),
        "created_at": _datetime,
        "updated_at": _datetime,
        "inputs": lambda v: isinstance(v, list),
        "events": lambda v: isinstance(v, list),
        "export_shots": lambda v: isinstance(v, list),
    },
    "jobs.inputs": {
        "image": _uuid,
        "position": _int,
        "role": _one_of(InputRole.values),
        "sha256": _str(64),
    },
    "jobs.events": {
        "from_status": lambda v: v == "" or _one_of(Status.values)(v),
        "to_status": _one_of(Status.values),
        "reason": _str(),
        "created_at": _datetime,
    },
    "jobs.export_shots": {
        "video": _uuid,
        "position": _int,
        "in_seconds": _float,
        "out_seconds": _float,
    },
    "scenes": {
        "public_id": _uuid,
        "name": _str(120),
        "crossfade_seconds": _float,
        "created_by": USER,
        "created_at": _datetime,
        "updated_at": _datetime,
        "shots": lambda v: isinstance(v, list),
    },
    "scenes.shots": {
        "public_id": _uuid,
        "video": REF,
        "position": _int,
        "in_seconds": _float,
        "out_seconds": _float,
        "pending_job": REF,
        "created_at": _datetime,
    },
    "files": {"path": FILE, "size": _int, "sha256": _hex64},
}

# (section, field) -> the section its public id must be found in.
REFERENCES: dict[tuple[str, str], str] = {
    ("prompts", "parent"): "prompts",
    ("reference_images", "source_video"): "videos",
    ("videos", "job"): "jobs",
    ("videos", "parent"): "videos",
    ("masks", "video"): "videos",
    ("jobs", "prompt"): "prompts",
    ("jobs", "source_video"): "videos",
    ("jobs", "mask"): "masks",
    ("jobs", "rerun_of"): "jobs",
    ("jobs.inputs", "image"): "reference_images",
    ("jobs.export_shots", "video"): "videos",
    ("scenes.shots", "video"): "videos",
    ("scenes.shots", "pending_job"): "jobs",
}
FILE_FIELDS: dict[str, tuple[str, ...]] = {
    "reference_images": ("file",),
    "videos": ("file", "poster", "thumbnail"),
    "masks": ("file",),
}
SECTIONS = ("prompts", "reference_images", "videos", "masks", "jobs", "scenes")
CHILDREN = {"jobs": ("inputs", "events", "export_shots"), "scenes": ("shots",)}


def safe_member_name(name: str) -> bool:
    """A zip member name that stays inside the folder it is unpacked into."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    path = PurePosixPath(name)
    if path.is_absolute() or ":" in path.parts[0]:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def is_file_path(name: str) -> bool:
    parts = name.split("/")
    return (
        safe_member_name(name)
        and len(parts) >= 2
        and parts[0] == FILES_DIR
        and all(_SAFE_NAME.match(part) for part in parts)
    )


def _check_record(where: str, record: Any, spec: dict[str, Check]) -> None:
    if not isinstance(record, dict):
        raise ArchiveError(f"The manifest is invalid: {where} is not an object.")
    missing = sorted(set(spec) - set(record))
    if missing:
        raise ArchiveError(f"The manifest is invalid: {where} has no {', '.join(missing)}.")
    for field, check in spec.items():
        if not check(record[field]):
            raise ArchiveError(
                f"The manifest is invalid: {where}.{field} has a wrong value "
                f"({str(record[field])[:60]!r})."
            )


def check_header(manifest: Any) -> None:
    """The format and version, before anything else is read."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("This is not a Studio project archive (its manifest names no format).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArchiveError("The manifest's format version is not a number.")
    if version > FORMAT_VERSION:
        raise ArchiveError(
            f"The archive has format version {version}, made by Studio "
            f"{str(manifest.get('studio_version', '?'))[:20]}; this Studio reads version "
            f"{FORMAT_VERSION} and older. Update this Studio to import it."
        )


def check(manifest: dict[str, Any]) -> None:
    """Every record well-formed, every reference and file name resolvable."""
    check_header(manifest)
    _check_record("project", manifest.get("project"), SPECS["project"])
    ids: dict[str, set[str]] = {}
    for section in (*SECTIONS, "files"):
        records = manifest.get(section)
        if not isinstance(records, list):
            raise ArchiveError(f"The manifest is invalid: {section} is not a list.")
        for index, record in enumerate(records):
            _check_record(f"{section}[{index}]", record, SPECS[section])
            for child in CHILDREN.get(section, ()):
                for n, item in enumerate(record[child]):
                    where = f"{section}[{index}].{child}[{n}]"
                    _check_record(where, item, SPECS[f"{section}.{child}"])
        if section != "files":
            found = [r["public_id"] for r in records]
            if len(set(found)) != len(found):
                raise ArchiveError(f"The manifest is invalid: {section} repeats a public id.")
            ids[section] = set(found)
    paths = [f["path"] for f in manifest["files"]]
    if len(set(paths)) != len(paths):
        raise ArchiveError("The manifest is invalid: files lists a path twice.")
    for path in paths:
        if not is_file_path(path):
            raise ArchiveError(f"The manifest names a file outside files/: {path[:80]!r}.")
    _check_references(manifest, ids)
    _check_file_names(manifest, set(paths))


def _records(manifest: dict[str, Any], section: str) -> Iterable[tuple[str, dict[str, Any]]]:
    if "." in section:
        parent, child = section.split(".")
        for index, record in enumerate(manifest[parent]):
            for n, item in enumerate(record[child]):
                yield f"{parent}[{index}].{child}[{n}]", item
    else:
        for index, record in enumerate(manifest[section]):
            yield f"{section}[{index}]", record


def _check_references(manifest: dict[str, Any], ids: dict[str, set[str]]) -> None:
    for (section, field), target in REFERENCES.items():
        for where, record in _records(manifest, section):
            value = record[field]
            if value is not None and value not in ids[target]:
                raise ArchiveError(
                    f"The manifest is inconsistent: {where}.{field} names {value}, "
                    f"which is not in the archive's {target.replace('_', ' ')}."
                )


def _check_file_names(manifest: dict[str, Any], listed: set[str]) -> None:
    used: set[str] = set()
    for section, fields in FILE_FIELDS.items():
        for where, record in _records(manifest, section):
            for field in fields:
                name = record[field]
                if not name:
                    continue
                if name not in listed:
                    raise ArchiveError(
                        f"The manifest is inconsistent: {where}.{field} names {name[:80]}, "
                        "which is not in its list of files."
                    )
                if name in used:
                    raise ArchiveError(f"The manifest is invalid: {name[:80]} is used twice.")
                used.add(name)
