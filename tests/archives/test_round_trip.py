"""A rich project exported, imported into another team (and into an empty Studio), and
exported again: the two manifests agree field by field and the files byte for byte."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from studio.models import TERMINAL_STATUSES, Job, LedgerEntry, Project, Status
from studio.services.archives import import_project
from studio.services.archives.importing import IMPORT_NOTE
from tests import factories
from tests.archives.conftest import Rich, export_to, make_rich_project, read_manifest
from tests.support.engine import run_due_jobs

VOLATILE = ("exported_at", "exported_by", "source_team")


def normalized(manifest: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The manifest without what differs by nature, with the import's new ids put back."""
    text = json.dumps({k: v for k, v in manifest.items() if k not in VOLATILE}, sort_keys=True)
    for old, new in ids.items():
        text = text.replace(new, old)
    return dict(json.loads(text))


def expected_after_import(
    before: dict[str, Any], after: dict[str, Any], users: dict[str, str], importer: str
) -> dict[str, Any]:
    """What the import promises to change: creators not in the team become the importer,
    unfinished jobs are closed as failed with a note, an upstream id taken is cleared."""
    out = copy.deepcopy({k: v for k, v in before.items() if k not in VOLATILE})
    records = [out["project"], *(r for s in ("prompts", "videos", "masks", "jobs") for r in out[s])]
    records += out["reference_images"] + out["scenes"]
    for record in records:
        if record["created_by"] is not None:
            record["created_by"] = users.get(record["created_by"], importer)
    taken = {j["upstream_id"] for j in after.get("_taken_upstream", [])}
    for job, now in zip(out["jobs"], after["jobs"], strict=True):
        notes = []
        if job["status"] not in TERMINAL_STATUSES:
            note = IMPORT_NOTE.format(status=Status(job["status"]).label.lower())
            notes.append(note)
            job.update(status="failed", fail_reason="", error_message=note)
            job["finished_at"] = now["finished_at"]
        if job["upstream_id"] in taken:
            upstream = job["upstream_id"]
            notes.append(f"Its upstream id {upstream} is already recorded in this Studio.")
            job["upstream_id"] = ""
        if notes:
            job["events"].append(
                {
                    "from_status": before_status(before, job["public_id"]),
                    "to_status": job["status"],
                    "reason": " ".join(notes),
                    "created_at": now["events"][-1]["created_at"],
                }
            )
    return out


def before_status(manifest: dict[str, Any], public_id: str) -> str:
    return next(str(j["status"]) for j in manifest["jobs"] if j["public_id"] == public_id)


def file_hashes(manifest: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in manifest["files"]}


def test_a_rich_project_survives_export_and_import_into_another_team(
    cast: Any, rich: Rich, tmp_path: Path
) -> None:
    before = export_to(rich.project, tmp_path / "a.zip")
    assert (len(before["jobs"]), len(before["videos"]), len(before["files"])) == (9, 7, 24)
    other = factories.make_team(cast.outsider, "Other studio")
    factories.add_member(other, cast.editor)
    ledger_rows = LedgerEntry.objects.count()

    result = import_project(tmp_path / "a.zip", other, cast.outsider)

    copy_ = result.project
    assert copy_.team == other and copy_.pk != rich.project.pk
    assert copy_.public_id != rich.project.public_id
    after = export_to(copy_, tmp_path / "b.zip")
    back = normalized(after, result.ids)
    back["_taken_upstream"] = [j for j in before["jobs"] if j["upstream_id"]]
    expected = expected_after_import(before, back, {"eddie": "eddie"}, cast.outsider.username)
    del back["_taken_upstream"]
    _show_diff(back, expected)
    assert back == expected
    assert file_hashes(back) == file_hashes(before)
    # History only: no credits moved, and the engine finds nothing to do.
    assert LedgerEntry.objects.count() == ledger_rows
    closed = Job.objects.get(public_id=result.ids[str(rich.running.public_id)])
    assert closed.status == Status.FAILED and closed.submit_attempts == 0
    run_due_jobs()
    assert set(copy_.jobs.values_list("status", flat=True)) <= TERMINAL_STATUSES
    assert result.jobs_closed == 1 and result.files_written == 24


@pytest.mark.django_db(transaction=True)
def test_a_rich_project_survives_export_and_import_into_an_empty_studio(
    cast: Any, tmp_path: Path, settings: Any
) -> None:
    rich = make_rich_project(cast.project, cast.owner, cast.editor)
    before = export_to(rich.project, tmp_path / "a.zip")

    # Another Studio: an empty database and empty media storage.
    call_command("flush", interactive=False, verbosity=0)
    settings.MEDIA_ROOT = str(tmp_path / "other-media")
    assert not Project.objects.exists()
    nina = factories.make_user("nina")
    team = factories.make_team(nina, "Elsewhere")

    result = import_project(tmp_path / "a.zip", team, nina)

    after = export_to(result.project, tmp_path / "b.zip")
    back = normalized(after, result.ids)
    assert back == expected_after_import(before, back, {}, "nina")
    assert file_hashes(back) == file_hashes(before)
    assert read_manifest(tmp_path / "b.zip")["project"]["name"] == "Launch film"
    # The imported project is usable: its lineage reads back through the ORM.
    upscale = result.project.videos.get(public_id=result.ids[str(rich.upscale.public_id)])
    assert upscale.parent is not None and upscale.parent.children.count() == 2
    assert upscale.job is not None and upscale.job.source_video == upscale.parent
    assert upscale.created_at < timezone.now()


def _show_diff(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            _show_diff(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _show_diff(x, y, f"{path}[{i}]")
    elif a != b:
        print("DIFF", path, repr(a)[:200], "!=", repr(b)[:200])
