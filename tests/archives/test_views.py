"""The project page's download and the projects page's import form."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studio.models import AuditEvent, Project
from studio.services.archives import import_project
from tests import factories
from tests.archives.conftest import Rich, export_to, rewrite, row_counts


def _download(client: Any, project: Project) -> bytes:
    response = client.post(reverse("project_export", args=[project.public_id]))
    assert response.status_code == 200, response
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="launch-film-')
    return b"".join(response.streaming_content)


def test_an_editor_downloads_the_project_as_one_archive(cast: Any, rich: Rich) -> None:
    data = _download(factories.member_client(cast.team, cast.editor), rich.project)

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert zf.testzip() is None
        assert set(zf.namelist()) == {"manifest.json", *(f["path"] for f in manifest["files"])}
    assert manifest["project"]["public_id"] == str(rich.project.public_id)
    assert manifest["exported_by"] == "eddie"
    assert AuditEvent.objects.filter(action="project.exported", actor=cast.editor).count() == 1


def test_the_project_page_offers_the_download_to_editors_only(cast: Any) -> None:
    url = reverse("project_detail", args=[cast.project.public_id])
    export = reverse("project_export", args=[cast.project.public_id])
    editor = factories.member_client(cast.team, cast.editor)
    viewer = factories.member_client(cast.team, cast.viewer)
    assert export in editor.get(url).content.decode()
    assert export not in viewer.get(url).content.decode()


def test_an_owner_imports_an_archive_from_the_projects_page(cast: Any, rich: Rich) -> None:
    data = _download(factories.member_client(cast.team, cast.owner), rich.project)
    other = factories.make_team(cast.outsider, "Oscar's studio")
    client = factories.member_client(other, cast.outsider)
    page = client.get(reverse("project_list")).content.decode()
    assert reverse("project_import", args=[other.public_id]) in page

    response = client.post(
        reverse("project_import", args=[other.public_id]),
        {"archive": SimpleUploadedFile("launch.zip", data, "application/zip")},
    )

    imported = Project.objects.get(team=other)
    assert response.status_code == 302
    assert response["Location"] == reverse("project_detail", args=[imported.public_id])
    assert imported.name == "Launch film" and imported.videos.count() == 7
    followed = client.get(response["Location"]).content.decode()
    assert "1 unfinished job marked failed" in followed


def test_a_bad_upload_is_refused_with_the_reason_and_imports_nothing(cast: Any) -> None:
    client = factories.member_client(cast.team, cast.owner)
    rows = row_counts()
    response = client.post(
        reverse("project_import", args=[cast.team.public_id]),
        {"archive": SimpleUploadedFile("x.zip", b"PK\x03\x04 truncated", "application/zip")},
        follow=True,
    )
    page = response.content.decode()
    assert "Nothing was imported: The file is not a readable zip archive" in page
    assert row_counts() == rows


def test_editors_cannot_import_and_are_not_offered_the_form(cast: Any) -> None:
    client = factories.member_client(cast.team, cast.editor)
    url = reverse("project_import", args=[cast.team.public_id])
    assert url not in client.get(reverse("project_list")).content.decode()
    upload = SimpleUploadedFile("x.zip", b"PK", "application/zip")
    assert client.post(url, {"archive": upload}).status_code == 403


def test_work_of_a_provider_this_studio_does_not_know_imports_and_shows(
    cast: Any, rich: Rich, tmp_path: Any
) -> None:
    def future(manifest: dict[str, Any]) -> None:
        for job in manifest["jobs"]:
            job.update(provider="future-gateway", model="veo9")

    export_to(rich.project, tmp_path / "a.zip")
    archive = rewrite(tmp_path / "a.zip", tmp_path / "b.zip", future)
    other = factories.make_team(cast.outsider, "Elsewhere")
    project = import_project(archive, other, cast.outsider).project
    client = factories.member_client(other, cast.outsider)

    assert client.get(reverse("project_detail", args=[project.public_id])).status_code == 200
    for job in project.jobs.all():
        assert client.get(reverse("job_detail", args=[job.public_id])).status_code == 200
    for video in project.videos.all():
        assert client.get(reverse("video_detail", args=[video.public_id])).status_code == 200
