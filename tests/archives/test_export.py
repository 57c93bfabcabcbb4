"""What an export leaves out: hidden media and references outside the project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils import timezone

from studio.models import Job, Video
from studio.services.archives import import_project
from tests import factories
from tests.archives.conftest import Rich, export_to


def test_hidden_videos_and_what_moderation_withholds_with_them_stay_out(
    cast: Any, rich: Rich, tmp_path: Path
) -> None:
    # As moderation hides a video: it and what was made from it.
    now = timezone.now()
    Video.objects.filter(
        pk__in=[rich.upscale.pk, *rich.upscale.children.values_list("pk", flat=True)]
    ).update(hidden_at=now)
    Job.objects.filter(source_video=rich.upscale).update(hidden_at=now)
    Job.objects.filter(pk=rich.upscale.job_id).update(hidden_at=now)

    manifest = export_to(rich.project, tmp_path / "a.zip")

    ids = {v["public_id"] for v in manifest["videos"]}
    assert str(rich.upscale.public_id) not in ids and len(ids) == 5
    assert not any(str(rich.upscale.public_id) in f["path"] for f in manifest["files"])
    assert str(rich.upscale.job.public_id) not in {j["public_id"] for j in manifest["jobs"]}
    shots = [s for scene in manifest["scenes"] for s in scene["shots"]]
    assert [s["video"] for s in shots].count(None) == 2  # the hidden one, and the pending place
    export = next(j for j in manifest["jobs"] if j["mode"] == "scene_export")
    assert [s["video"] for s in export["export_shots"]] == [str(rich.t2v.public_id)]
    # What is left is still a whole archive.
    other = factories.make_team(cast.outsider)
    assert import_project(tmp_path / "a.zip", other, cast.outsider).project.videos.count() == 5


def test_a_reference_to_another_project_is_dropped_not_dangling(cast: Any, tmp_path: Path) -> None:
    elsewhere = factories.make_output(factories.make_project(cast.team, "Other"), cast.owner)
    upscale = factories.make_output(
        cast.project, cast.owner, mode="upscale", source_video=elsewhere, parent=elsewhere
    )

    manifest = export_to(cast.project, tmp_path / "a.zip")

    (video,) = manifest["videos"]
    assert video["public_id"] == str(upscale.public_id) and video["parent"] is None
    (job,) = manifest["jobs"]
    assert job["source_video"] is None
