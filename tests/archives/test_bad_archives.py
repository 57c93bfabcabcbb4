"""Bad archives are refused with a sentence saying why, before anything is kept:
every test counts rows and stored files before and after."""

from __future__ import annotations

import hashlib
import re
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from studio.models import Mask
from studio.services import scenes
from studio.services.archives import ArchiveError, import_project
from tests import factories
from tests.archives.conftest import export_to, rewrite, row_counts, stored_files


@pytest.fixture
def archive(cast: Any, tmp_path: Path) -> Path:
    """A small project's archive: a video with poster and thumbnail, a reference, a mask."""
    video = factories.make_output(cast.project, cast.owner)
    image = factories.make_reference(cast.team)
    job = factories.make_job(cast.project, cast.owner, mode="img2video")
    job.inputs.create(image=image, position=0, role="start", sha256=image.sha256)
    mask = Mask(team=cast.team, video=video, width=160, height=90, coverage=0.1)
    mask.file.save("m.jpg", ContentFile(factories.mask_jpeg(160, 90)), save=False)
    mask.save()
    scene = scenes.create_scene(cast.project, cast.owner, "One")
    scenes.add_shot(scene, video)
    path = tmp_path / "good.zip"
    export_to(cast.project, path)
    return path


def _video_path(manifest: dict[str, Any]) -> str:
    return str(manifest["videos"][0]["file"])


def _first_video(path: Path) -> tuple[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.startswith("files/videos/") and n.endswith("mp4"))
        return name, zf.read(name)


def _symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("files/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _set(section: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        target = manifest[section] if section == "project" else manifest[section][0]
        target[field] = value

    return change


def _swap_video(path: Path, dest: Path, data: bytes, resign: bool) -> Path:
    name, _ = _first_video(path)

    def change(manifest: dict[str, Any]) -> None:
        for entry in manifest["files"]:
            if entry["path"] == name and resign:
                entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())

    return rewrite(path, dest, change, {name: data})


def _tampered(path: Path, dest: Path) -> Path:
    _, data = _first_video(path)
    return _swap_video(path, dest, data[:-4] + b"evil", resign=False)


def _flipped_bytes(path: Path, dest: Path) -> Path:
    """Damage inside the zip: one stored member's bytes changed behind its CRC."""
    name, data = _first_video(path)
    raw = path.read_bytes()
    at = raw.index(data[100:140]) + 10
    dest.write_bytes(raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :])
    del name
    return dest


def _truncated(path: Path, dest: Path) -> Path:
    raw = path.read_bytes()
    dest.write_bytes(raw[: len(raw) * 2 // 3])
    return dest


def _bomb(path: Path, dest: Path) -> Path:
    info = zipfile.ZipInfo("files/bomb.bin")
    info.compress_type = zipfile.ZIP_DEFLATED
    return rewrite(path, dest, extra=[(info, b"\0" * (8 * 1024 * 1024))])


def _missing_file(path: Path, dest: Path) -> Path:
    name, _ = _first_video(path)
    return rewrite(path, dest, members={name: None})


def _bad_trim(manifest: dict[str, Any]) -> None:
    # Passes every check of the manifest; the database refuses it (out before in).
    shot = manifest["scenes"][0]["shots"][0]
    shot.update(in_seconds=0.9, out_seconds=0.1)


CASES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "a path with ../": (
        lambda p, d: rewrite(p, d, members={"../escape.txt": b"x"}),
        "a path outside its folder",
    ),
    "an absolute path": (
        lambda p, d: rewrite(p, d, members={"/etc/cron.d/studio": b"x"}),
        "a path outside its folder",
    ),
    "a manifest file path with ../": (
        lambda p, d: rewrite(p, d, _set("files", "path", "files/../../x.mp4")),
        "names a file outside files/",
    ),
    "a symlink": (lambda p, d: rewrite(p, d, extra=[(_symlink(), b"/etc/passwd")]), "symbolic"),
    "a tampered file": (_tampered, "does not match its sha256"),
    "a file of another size": (
        lambda p, d: _swap_video(p, d, b"short", resign=False),
        "the archive was changed after export",
    ),
    "damaged bytes inside the zip": (_flipped_bytes, "damaged"),
    "a truncated zip": (_truncated, "damaged or truncated"),
    "not a zip at all": (
        lambda p, d: (d.write_bytes(b"PK not really"), d)[1],
        "not a readable zip",
    ),
    "a manifest naming a missing file": (_missing_file, "missing from the archive"),
    "a file the manifest does not list": (
        lambda p, d: rewrite(p, d, members={"files/extra.mp4": b"x"}),
        "does not list",
    ),
    "no manifest": (lambda p, d: rewrite(p, d, members={"manifest.json": None}), "no manifest"),
    "a manifest that is not JSON": (
        lambda p, d: rewrite(p, d, members={"manifest.json": b"{not json"}),
        "not valid JSON",
    ),
    "a newer format version": (
        lambda p, d: rewrite(p, d, lambda m: m.update(format_version=2)),
        "format version 2",
    ),
    "another format": (
        lambda p, d: rewrite(p, d, lambda m: m.update(format="something-else")),
        "not a Studio project archive",
    ),
    "a zip bomb": (_bomb, "zip bomb"),
    "a JSON bomb": (
        lambda p, d: rewrite(p, d, members={"manifest.json": b"[" * 100_000 + b"]" * 100_000}),
        "not valid JSON",
    ),
    "an infinite duration": (
        lambda p, d: rewrite(p, d, _set("videos", "duration_seconds", float("inf"))),
        "videos[0].duration_seconds",
    ),
    "a wrong type": (
        lambda p, d: rewrite(p, d, _set("videos", "width", "wide")),
        "videos[0].width",
    ),
    "an unknown status": (
        lambda p, d: rewrite(p, d, _set("jobs", "status", "exploded")),
        "jobs[0].status",
    ),
    "a record missing a field": (
        lambda p, d: rewrite(p, d, lambda m: m["masks"][0].pop("video")),
        "masks[0] has no video",
    ),
    "a dangling reference": (
        lambda p, d: rewrite(
            p, d, _set("videos", "parent", "00000000-0000-4000-8000-000000000000")
        ),
        "not in the archive's videos",
    ),
    "HTML posing as a video": (
        lambda p, d: rewrite(p, d, _set("videos", "content_type", "text/html")),
        "videos[0].content_type",
    ),
    "a video file that is not a video": (
        lambda p, d: _swap_video(p, d, b"<html><script>x</script></html>", resign=True),
        "is not an MP4 video",
    ),
    "rows the database refuses after files were written": (
        lambda p, d: rewrite(p, d, _bad_trim),
        "could not be written, nothing was kept",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_archive_is_refused_and_changes_nothing(
    case: str, archive: Path, cast: Any, tmp_path: Path
) -> None:
    make, message = CASES[case]
    bad = make(archive, tmp_path / "bad.zip")
    rows, files = row_counts(), stored_files()

    with pytest.raises(ArchiveError, match=re.escape(message)) as refused:
        import_project(bad, cast.team, cast.owner)

    assert row_counts() == rows
    assert stored_files() == files
    assert str(refused.value).endswith(".") or ":" in str(refused.value)


def test_the_good_archive_of_these_cases_imports(archive: Path, cast: Any) -> None:
    """The refusals above come from each change, not from the archive they start with."""
    rows = row_counts()
    result = import_project(archive, cast.team, cast.owner)
    assert row_counts()["Video"] == rows["Video"] + 1
    assert result.images_reused == 1  # the same picture is already in this team's library
    assert result.files_written == 4


def test_an_archive_over_the_size_limit_is_refused(archive: Path, cast: Any, settings: Any) -> None:
    settings.STUDIO_ARCHIVE_MAX_BYTES = 2000
    rows, files = row_counts(), stored_files()
    with pytest.raises(ArchiveError, match="STUDIO_ARCHIVE_MAX_BYTES"):
        import_project(archive, cast.team, cast.owner)
    assert (row_counts(), stored_files()) == (rows, files)


def test_a_suspended_team_imports_nothing(archive: Path, cast: Any) -> None:
    cast.team.suspended_at = timezone.now()
    cast.team.save()
    with pytest.raises(ArchiveError, match="suspended"):
        import_project(archive, cast.team, cast.owner)
