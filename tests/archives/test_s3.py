"""A project moves from an embedded Studio (local disk) into a scaled one (media on S3,
here moto_server on loopback): through Django's storage API only."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from studio.services.archives import ArchiveError, import_project
from tests import factories
from tests.archives.conftest import Rich, export_to, rewrite, row_counts
from tests.archives.test_round_trip import expected_after_import, file_hashes, normalized
from tests.s3_fixture import MotoServer, S3Bucket


def _bucket(server: MotoServer, settings: Any) -> S3Bucket:
    bucket = S3Bucket(server, f"studio-{uuid.uuid4().hex[:12]}", settings)
    bucket.client.create_bucket(Bucket=bucket.name)
    bucket.point()
    return bucket


def test_a_project_from_local_disk_imports_into_a_bucket_whole(
    cast: Any, rich: Rich, tmp_path: Path, s3_server: MotoServer, settings: Any
) -> None:
    before = export_to(rich.project, tmp_path / "local.zip")
    bucket = _bucket(s3_server, settings)
    other = factories.make_team(cast.outsider, "Scaled")

    result = import_project(tmp_path / "local.zip", other, cast.outsider)

    stored = [*result.project.videos.all(), *result.project.team.masks.all()]
    keys = set(bucket.objects())
    assert len(keys) == 24 and {v.file.name for v in stored} <= keys
    after = export_to(result.project, tmp_path / "s3.zip")  # read back from the bucket
    back = normalized(after, result.ids)
    back["_taken_upstream"] = [j for j in before["jobs"] if j["upstream_id"]]
    expected = expected_after_import(before, back, {}, cast.outsider.username)
    del back["_taken_upstream"]
    assert back == expected
    assert file_hashes(back) == file_hashes(before)


def test_a_failed_import_leaves_nothing_in_the_bucket(
    cast: Any, rich: Rich, tmp_path: Path, s3_server: MotoServer, settings: Any
) -> None:
    def bad_trim(manifest: dict[str, Any]) -> None:
        manifest["scenes"][0]["shots"][0].update(in_seconds=0.9, out_seconds=0.1)

    export_to(rich.project, tmp_path / "a.zip")
    bad = rewrite(tmp_path / "a.zip", tmp_path / "b.zip", bad_trim)
    bucket = _bucket(s3_server, settings)
    rows = row_counts()

    with pytest.raises(ArchiveError, match="nothing was kept"):
        import_project(bad, cast.team, cast.owner)

    assert bucket.objects() == [] and row_counts() == rows


def test_a_bucket_that_does_not_answer_gives_a_clear_error_and_keeps_nothing(
    cast: Any, rich: Rich, tmp_path: Path, s3_server: MotoServer, settings: Any
) -> None:
    export_to(rich.project, tmp_path / "a.zip")
    bucket = _bucket(s3_server, settings)
    bucket.stop_answering()
    rows = row_counts()

    with pytest.raises(
        ArchiveError, match="Media storage failed, nothing was kept: .* did not answer"
    ):
        import_project(tmp_path / "a.zip", cast.team, cast.owner)

    bucket.answer_again()
    assert bucket.objects() == [] and row_counts() == rows
