from __future__ import annotations

import uuid

import pytest
from django.test import Client

from studio.models import Membership, Role, Team
from studio.services import teams as team_service
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _member(cast: Cast, user: object) -> Membership:
    return Membership.objects.get(team=cast.team, user=user)


def test_owner_adds_a_member_by_username(cast: Cast) -> None:
    newcomer = factories.make_user("nina")
    client = cast.client_for(cast.owner)
    response = client.post(
        f"/teams/{cast.team.public_id}/members/", {"user": "nina", "role": "editor"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(team=cast.team, user=newcomer).role == Role.EDITOR


def test_owner_adds_a_member_by_email(cast: Cast) -> None:
    newcomer = factories.make_user("nina", email="Nina@Example.com")
    cast.client_for(cast.owner).post(
        f"/teams/{cast.team.public_id}/members/", {"user": "nina@example.com", "role": "viewer"}
    )
    assert Membership.objects.get(team=cast.team, user=newcomer).role == Role.VIEWER


def test_adding_an_existing_member_again_changes_nothing(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    response = client.post(
        f"/teams/{cast.team.public_id}/members/", {"user": "vera", "role": "owner"}, follow=True
    )
    assert "already a member" in response.content.decode()
    assert _member(cast, cast.viewer).role == Role.VIEWER


def test_adding_an_unknown_user_shows_a_clear_message(cast: Cast) -> None:
    response = cast.client_for(cast.owner).post(
        f"/teams/{cast.team.public_id}/members/", {"user": "ghost", "role": "viewer"}, follow=True
    )
    assert "No active account" in response.content.decode()
    assert cast.team.memberships.count() == 3


def test_a_forged_role_value_is_refused(cast: Cast) -> None:
    factories.make_user("nina")
    client = cast.client_for(cast.owner)
    client.post(f"/teams/{cast.team.public_id}/members/", {"user": "nina", "role": "superadmin"})
    assert not Membership.objects.filter(team=cast.team, user__username="nina").exists()
    member = _member(cast, cast.viewer)
    client.post(f"/teams/{cast.team.public_id}/members/{member.public_id}/role/", {"role": "god"})
    assert _member(cast, cast.viewer).role == Role.VIEWER


def test_owner_changes_a_role(cast: Cast) -> None:
    member = _member(cast, cast.viewer)
    cast.client_for(cast.owner).post(
        f"/teams/{cast.team.public_id}/members/{member.public_id}/role/", {"role": "editor"}
    )
    assert _member(cast, cast.viewer).role == Role.EDITOR


def test_the_last_owner_cannot_be_demoted_or_removed(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    owner = _member(cast, cast.owner)
    response = client.post(
        f"/teams/{cast.team.public_id}/members/{owner.public_id}/role/",
        {"role": "viewer"},
        follow=True,
    )
    assert "at least one owner" in response.content.decode()
    client.post(f"/teams/{cast.team.public_id}/members/{owner.public_id}/remove/")
    assert _member(cast, cast.owner).role == Role.OWNER


def test_an_owner_can_step_down_once_there_is_another_owner(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    editor = _member(cast, cast.editor)
    client.post(f"/teams/{cast.team.public_id}/members/{editor.public_id}/role/", {"role": "owner"})
    owner = _member(cast, cast.owner)
    client.post(f"/teams/{cast.team.public_id}/members/{owner.public_id}/role/", {"role": "viewer"})
    assert _member(cast, cast.owner).role == Role.VIEWER


def test_owner_removes_a_member(cast: Cast) -> None:
    member = _member(cast, cast.viewer)
    cast.client_for(cast.owner).post(
        f"/teams/{cast.team.public_id}/members/{member.public_id}/remove/"
    )
    assert not Membership.objects.filter(pk=member.pk).exists()


@pytest.mark.parametrize("role_user", ["editor", "viewer"])
def test_non_owners_cannot_manage_members(cast: Cast, role_user: str) -> None:
    client = cast.client_for(getattr(cast, role_user))
    viewer = _member(cast, cast.viewer)
    factories.make_user("nina")
    base = f"/teams/{cast.team.public_id}/members/"
    assert client.post(base, {"user": "nina", "role": "owner"}).status_code == 403
    assert client.post(f"{base}{viewer.public_id}/role/", {"role": "owner"}).status_code == 403
    assert client.post(f"{base}{viewer.public_id}/remove/").status_code == 403
    assert cast.team.memberships.count() == 3
    assert _member(cast, cast.viewer).role == Role.VIEWER


def test_outsider_gets_404_for_another_teams_pages_and_actions(cast: Cast) -> None:
    client = cast.client_for(cast.outsider)
    viewer = _member(cast, cast.viewer)
    base = f"/teams/{cast.team.public_id}/"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}members/", {"user": "oscar", "role": "owner"}).status_code == 404
    assert client.post(f"{base}members/{viewer.public_id}/remove/").status_code == 404
    assert client.post("/teams/switch/", {"team": str(cast.team.public_id)}).status_code == 404
    assert not Membership.objects.filter(team=cast.team, user=cast.outsider).exists()


def test_a_member_id_of_another_team_is_404(cast: Cast) -> None:
    other_owner = Membership.objects.get(user=cast.outsider)
    response = cast.client_for(cast.owner).post(
        f"/teams/{cast.team.public_id}/members/{other_owner.public_id}/remove/"
    )
    assert response.status_code == 404
    assert Membership.objects.filter(pk=other_owner.pk).exists()


def test_unknown_and_malformed_team_ids_are_404(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    assert client.get(f"/teams/{uuid.uuid4()}/").status_code == 404
    assert client.get("/teams/123/").status_code == 404
    assert client.post("/teams/switch/", {"team": "not-a-uuid"}).status_code == 404


def test_creating_a_team_makes_the_creator_its_owner_and_switches_to_it(cast: Cast) -> None:
    client = cast.client_for(cast.viewer)
    response = client.post("/teams/", {"name": "Side project"})
    team = Team.objects.get(name="Side project")
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=cast.viewer).role == Role.OWNER
    page = client.get("/projects/").content.decode()
    assert "In Side project" in page


def test_switching_team_scopes_the_projects_list(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    client.post("/teams/switch/", {"team": str(cast.team.public_id)})
    assert "Launch film" in client.get("/projects/").content.decode()
    personal = factories.personal_team(cast.editor)
    client.post("/teams/switch/", {"team": str(personal.public_id)})
    assert "Launch film" not in client.get("/projects/").content.decode()


def test_team_page_lists_members_for_every_member(cast: Cast, client: Client) -> None:
    client.force_login(cast.viewer)
    page = client.get(f"/teams/{cast.team.public_id}/").content.decode()
    assert "olivia" in page and "eddie" in page and "vera" in page
    assert "Add a member" not in page


def test_removing_a_member_who_is_already_gone_is_a_clear_message(cast: Cast) -> None:
    # Two clicks (or two owners) at once: the second found no row and was a 500.
    member = _member(cast, cast.viewer)
    team_service.remove_member(member)
    with pytest.raises(team_service.TeamError, match="no longer in"):
        team_service.remove_member(member)
