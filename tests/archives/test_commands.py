"""manage.py export_project and import_project."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from studio.models import Project
from tests import factories
from tests.archives.conftest import Rich, read_manifest, row_counts


def test_a_project_goes_out_and_comes_back_in_through_the_commands(
    cast: Any, rich: Rich, tmp_path: Path
) -> None:
    path = tmp_path / "launch.zip"
    out = io.StringIO()
    call_command("export_project", str(rich.project.public_id), str(path), stdout=out)
    assert "9 jobs, 7 videos, 24 files" in out.getvalue()
    assert read_manifest(path)["project"]["name"] == "Launch film"
    assert [p.name for p in tmp_path.iterdir()] == ["launch.zip"]  # no temporary file left
    other = factories.make_team(cast.outsider, "Elsewhere")

    out = io.StringIO()
    call_command("import_project", str(path), "--team", "Elsewhere", stdout=out)

    imported = Project.objects.get(team=other)
    assert f"as project {imported.public_id}" in out.getvalue()
    assert "1 unfinished job marked failed" in out.getvalue()
    # Nobody named: the team's first owner imports, and is credited where needed.
    assert imported.created_by == cast.outsider


def test_the_import_command_says_why_and_imports_nothing(cast: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x05\x06 not much")
    rows = row_counts()
    with pytest.raises(CommandError, match="Nothing was imported: The file is not a readable zip"):
        call_command("import_project", str(bad), "--team", str(cast.team.public_id))
    with pytest.raises(CommandError, match="No team named"):
        call_command("import_project", str(bad), "--team", "Nobody's")
    with pytest.raises(CommandError, match="No project with the public id"):
        call_command("export_project", "not-a-uuid", str(tmp_path / "x.zip"))
    assert row_counts() == rows
