"""Backup and restore: the embedded commands for real on SQLite, and on PostgreSQL the
documented pg_dump / pg_restore procedure run against the test database."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from studio.models import Project, Video, WorkerHeartbeat
from tests import factories
from tests.archives.conftest import make_rich_project, row_counts, stored_files

sqlite_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="embedded mode is SQLite",
)
postgres_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
    or shutil.which("pg_dump") is None,
    reason="needs PostgreSQL and its client tools",
)


def _lineage() -> list[tuple[Any, ...]]:
    return sorted(Video.objects.values_list("public_id", "parent__public_id", "job__public_id"))


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_an_embedded_studio_comes_back_from_its_backup(cast: Any, tmp_path: Path) -> None:
    make_rich_project(cast.project, cast.owner, cast.editor)
    rows, files = row_counts(), stored_files()
    projects = sorted(Project.objects.values_list("public_id", "name"))
    lineage = _lineage()

    call_command("backup", str(tmp_path / "backup"), stdout=io.StringIO())

    # Life goes on: a project is deleted, another made, a stray file appears.
    Video.objects.filter(project=cast.project).update(parent=None)
    factories.make_output(factories.make_project(cast.team, "After the backup"), cast.owner)
    Path(settings.MEDIA_ROOT, "stray.bin").write_bytes(b"x")
    assert stored_files() != files

    call_command("restore", str(tmp_path / "backup"), "--yes", stdout=io.StringIO())

    assert row_counts() == rows
    assert sorted(Project.objects.values_list("public_id", "name")) == projects
    assert sorted(
        Video.objects.values_list("public_id", "parent__public_id", "job__public_id")
    ) == (lineage)
    assert stored_files() == files


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_damaged_backup_is_refused_before_anything_changes(cast: Any, tmp_path: Path) -> None:
    factories.make_output(cast.project, cast.owner)
    call_command("backup", str(tmp_path / "b"), stdout=io.StringIO())
    info = json.loads((tmp_path / "b" / "backup.json").read_text())
    victim = tmp_path / "b" / "media" / info["media"][0]["path"]
    victim.write_bytes(victim.read_bytes()[:-1] + b"!")
    factories.make_project(cast.team, "Made after")
    rows, files = row_counts(), stored_files()

    with pytest.raises(CommandError, match="does not match its sha256"):
        call_command("restore", str(tmp_path / "b"), "--yes")
    with pytest.raises(CommandError, match="does not match its sha256"):
        call_command("restore", str(tmp_path / "b"), "--check")

    assert (row_counts(), stored_files()) == (rows, files)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_restore_refuses_while_the_worker_runs(cast: Any, tmp_path: Path) -> None:
    call_command("backup", str(tmp_path / "b"), stdout=io.StringIO())
    WorkerHeartbeat.objects.create(name="scheduler", pid=1, beat_at=timezone.now())
    with pytest.raises(CommandError, match="stop Studio"):
        call_command("restore", str(tmp_path / "b"), "--yes")
    assert WorkerHeartbeat.objects.exists()


@sqlite_only
def test_a_backup_goes_into_a_new_folder_only(db: Any, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        call_command("backup", str(tmp_path / "used"))


@postgres_only
def test_the_embedded_commands_point_a_scaled_studio_to_its_procedure(
    db: Any, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="pg_dump"):
        call_command("backup", str(tmp_path / "b"))


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_documented_pg_dump_and_pg_restore_bring_the_rows_back(
    cast: Any, tmp_path: Path
) -> None:
    """docs/operations.md's commands, against this run's test database and a fresh one."""
    make_rich_project(cast.project, cast.owner, cast.editor)
    rows = row_counts()
    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432)}
    env["PGUSER"] = db["USER"] or "postgres"
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    fresh = f"{db['NAME']}_restore"
    dump = tmp_path / "studio.dump"

    def run(*cmd: str) -> str:
        return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout

    run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", db["NAME"])
    run("dropdb", "--if-exists", fresh)
    run("createdb", fresh)
    try:
        run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={fresh}", str(dump))
        for model, count in rows.items():
            table = f"studio_{model.lower()}"
            found = run("psql", "-Atc", f"select count(*) from {table}", fresh)
            assert int(found) == count, (table, found, count)
        found_ids = run("psql", "-Atc", "select public_id, name from studio_project", fresh)
        ours = {f"{p}|{n}" for p, n in Project.objects.values_list("public_id", "name")}
        assert set(found_ids.splitlines()) == ours
    finally:
        run("dropdb", "--if-exists", fresh)
