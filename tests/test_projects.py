from __future__ import annotations

import uuid

import pytest

from studio.models import Project
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _switch(client, team) -> None:  # type: ignore[no-untyped-def]
    client.post("/teams/switch/", {"team": str(team.public_id)})


def test_editor_creates_a_project_in_the_current_team(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    _switch(client, cast.team)
    response = client.post("/projects/", {"name": "  Teaser  "})
    project = Project.objects.get(name="Teaser")
    assert project.team == cast.team
    assert response["Location"] == f"/projects/{project.public_id}/"


def test_an_empty_project_name_is_refused(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    _switch(client, cast.team)
    response = client.post("/projects/", {"name": "   "})
    assert response.status_code == 200
    assert "Give the project a name" in response.content.decode()
    assert cast.team.projects.count() == 1


def test_viewer_cannot_create_rename_archive_or_restore(cast: Cast) -> None:
    client = cast.client_for(cast.viewer)
    _switch(client, cast.team)
    base = f"/projects/{cast.project.public_id}/"
    assert client.post("/projects/", {"name": "Nope"}).status_code == 403
    assert client.post(f"{base}rename/", {"name": "Nope"}).status_code == 403
    assert client.post(f"{base}archive/").status_code == 403
    assert client.post(f"{base}restore/").status_code == 403
    cast.project.refresh_from_db()
    assert cast.project.name == "Launch film" and cast.project.archived_at is None
    assert client.get(base).status_code == 200


def test_rename_archive_and_restore(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    base = f"/projects/{cast.project.public_id}/"
    client.post(f"{base}rename/", {"name": "Launch film v2"})
    cast.project.refresh_from_db()
    assert cast.project.name == "Launch film v2"
    client.post(f"{base}archive/")
    cast.project.refresh_from_db()
    assert cast.project.archived_at is not None
    _switch(client, cast.team)
    card = "<h3>Launch film v2</h3>"
    assert card not in client.get("/projects/").content.decode()
    assert card in client.get("/projects/?archived=1").content.decode()
    client.post(f"{base}restore/")
    cast.project.refresh_from_db()
    assert cast.project.archived_at is None


def test_outsider_gets_404_for_another_teams_project(cast: Cast) -> None:
    client = cast.client_for(cast.outsider)
    base = f"/projects/{cast.project.public_id}/"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}rename/", {"name": "Hijacked"}).status_code == 404
    assert client.post(f"{base}archive/").status_code == 404
    cast.project.refresh_from_db()
    assert cast.project.name == "Launch film" and cast.project.archived_at is None


def test_unknown_project_id_is_404(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    assert client.get(f"/projects/{uuid.uuid4()}/").status_code == 404


def test_project_urls_use_uuids_not_sequential_ids(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    assert client.get(f"/projects/{cast.project.pk}/").status_code == 404


@pytest.mark.parametrize("method", ["get"])
def test_wrong_method_on_actions_is_405(cast: Cast, method: str) -> None:
    client = cast.client_for(cast.owner)
    assert client.get(f"/projects/{cast.project.public_id}/archive/").status_code == 405
