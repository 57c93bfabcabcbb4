from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.models import Invitation, Membership, Role, Team
from studio.services import teams as team_service
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _member(cast: Cast, user: object) -> Membership:
    return Membership.objects.get(team=cast.team, user=user)


def _invite(cast: Cast, who: str, role: str = "editor", user: object = None) -> Any:
    client = cast.client_for(user or cast.owner)
    return client.post(
        f"/teams/{cast.team.public_id}/invitations/", {"who": who, "role": role}, follow=True
    )


def test_an_invitation_by_username_joins_no_one_until_accepted(cast: Cast) -> None:
    newcomer = factories.make_user("nina")
    _invite(cast, "nina")
    assert not Membership.objects.filter(team=cast.team, user=newcomer).exists()
    client = cast.client_for(newcomer)
    page = client.get("/teams/").content.decode()
    assert "Acme Films" in page and "invites you as editor" in page
    assert 'class="nav-badge"' in page
    invitation = Invitation.objects.get(team=cast.team)
    response = client.post(f"/invitations/{invitation.token}/accept/")
    assert response.status_code == 302
    assert Membership.objects.get(team=cast.team, user=newcomer).role == Role.EDITOR
    assert "nav-badge" not in client.get("/teams/").content.decode()


def test_an_invitee_can_decline(cast: Cast) -> None:
    newcomer = factories.make_user("nina")
    _invite(cast, "nina")
    invitation = Invitation.objects.get(team=cast.team)
    cast.client_for(newcomer).post(f"/invitations/{invitation.token}/decline/")
    response = cast.client_for(newcomer).post(f"/invitations/{invitation.token}/accept/")
    assert response.status_code == 302
    assert not Membership.objects.filter(team=cast.team, user=newcomer).exists()


def test_a_username_invitation_cannot_be_taken_by_another_account(cast: Cast) -> None:
    factories.make_user("nina")
    _invite(cast, "nina")
    invitation = Invitation.objects.get(team=cast.team)
    thief = cast.client_for(cast.outsider)
    assert thief.get(f"/invitations/{invitation.token}/").status_code == 404
    assert thief.post(f"/invitations/{invitation.token}/accept/").status_code == 404
    assert not Membership.objects.filter(team=cast.team, user=cast.outsider).exists()


def test_an_email_invitation_never_lands_on_an_account_that_claims_that_address(
    cast: Cast,
) -> None:
    # Whoever registered the string first used to be added; now the address
    # matches no account: the owner sends the link, and the one who opens it joins.
    squatter = factories.make_user("squatter", email="someone@example.com")
    response = _invite(cast, "someone@example.com", "viewer")
    assert "send them the link" in response.content.decode()
    assert "nav-badge" not in cast.client_for(squatter).get("/teams/").content.decode()
    invitation = Invitation.objects.get(team=cast.team)
    assert invitation.invitee is None
    assert invitation.token in response.content.decode()
    someone = factories.make_user("someone")
    client = cast.client_for(someone)
    assert "Join Acme Films?" in client.get(f"/invitations/{invitation.token}/").content.decode()
    client.post(f"/invitations/{invitation.token}/accept/")
    assert Membership.objects.get(team=cast.team, user=someone).role == Role.VIEWER
    assert not Membership.objects.filter(team=cast.team, user=squatter).exists()


def test_an_invitation_link_works_once(cast: Cast) -> None:
    _invite(cast, "pat@example.com")
    invitation = Invitation.objects.get(team=cast.team)
    first, second = factories.make_user("pat"), factories.make_user("pat2")
    cast.client_for(first).post(f"/invitations/{invitation.token}/accept/")
    response = cast.client_for(second).post(f"/invitations/{invitation.token}/accept/", follow=True)
    assert "already answered" in response.content.decode()
    assert not Membership.objects.filter(team=cast.team, user=second).exists()


def test_accepting_twice_is_a_clear_message_not_an_error(cast: Cast) -> None:
    newcomer = factories.make_user("nina")
    _invite(cast, "nina")
    invitation = Invitation.objects.get(team=cast.team)
    team_service.accept_invitation(invitation, newcomer)
    with pytest.raises(team_service.TeamError, match="already answered"):
        team_service.accept_invitation(invitation, newcomer)
    response = cast.client_for(newcomer).post(
        f"/invitations/{invitation.token}/accept/", follow=True
    )
    assert response.status_code == 200
    assert "already answered" in response.content.decode()
    assert Membership.objects.filter(team=cast.team, user=newcomer).count() == 1


def test_a_link_opened_by_someone_already_in_the_team_leaves_it_unused(cast: Cast) -> None:
    _invite(cast, "pat@example.com")
    invitation = Invitation.objects.get(team=cast.team)
    response = cast.client_for(cast.viewer).post(
        f"/invitations/{invitation.token}/accept/", follow=True
    )
    assert "already a member" in response.content.decode()
    assert team_service.is_pending(invitation)
    assert _member(cast, cast.viewer).role == Role.VIEWER


def test_an_expired_invitation_cannot_be_accepted(cast: Cast, settings: Any) -> None:
    newcomer = factories.make_user("nina")
    _invite(cast, "nina")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    invitation = Invitation.objects.get(team=cast.team)
    assert "nav-badge" not in cast.client_for(newcomer).get("/teams/").content.decode()
    page = cast.client_for(newcomer).get(f"/invitations/{invitation.token}/")
    assert "has expired" in page.content.decode()
    cast.client_for(newcomer).post(f"/invitations/{invitation.token}/accept/")
    assert not Membership.objects.filter(team=cast.team, user=newcomer).exists()


def test_an_owner_revokes_an_invitation(cast: Cast) -> None:
    newcomer = factories.make_user("nina")
    _invite(cast, "nina")
    invitation = Invitation.objects.get(team=cast.team)
    url = f"/teams/{cast.team.public_id}/invitations/{invitation.public_id}/revoke/"
    cast.client_for(cast.owner).post(url)
    again = cast.client_for(cast.owner).post(url, follow=True)
    assert "already answered, revoked" in again.content.decode()
    cast.client_for(newcomer).post(f"/invitations/{invitation.token}/accept/")
    assert not Membership.objects.filter(team=cast.team, user=newcomer).exists()


def test_inviting_an_existing_member_changes_nothing(cast: Cast) -> None:
    response = _invite(cast, "vera", "owner")
    assert "already a member" in response.content.decode()
    assert _member(cast, cast.viewer).role == Role.VIEWER
    assert not Invitation.objects.exists()


def test_inviting_an_unknown_name_reads_the_same_as_a_known_one(cast: Cast) -> None:
    factories.make_user("nina")
    known = _invite(cast, "nina").content.decode()
    unknown = _invite(cast, "ghost").content.decode()
    assert "If an account has that name, it will find the invitation" in known
    assert "If an account has that name, it will find the invitation" in unknown
    assert cast.team.memberships.count() == 3


def test_a_forged_role_value_is_refused(cast: Cast) -> None:
    factories.make_user("nina")
    client = cast.client_for(cast.owner)
    client.post(f"/teams/{cast.team.public_id}/invitations/", {"who": "nina", "role": "superadmin"})
    assert not Invitation.objects.exists()
    assert not Membership.objects.filter(team=cast.team, user__username="nina").exists()
    member = _member(cast, cast.viewer)
    client.post(f"/teams/{cast.team.public_id}/members/{member.public_id}/role/", {"role": "god"})
    assert _member(cast, cast.viewer).role == Role.VIEWER


def test_any_member_can_leave_but_the_last_owner_cannot(cast: Cast) -> None:
    response = cast.client_for(cast.viewer).post(f"/teams/{cast.team.public_id}/leave/")
    assert response.status_code == 302
    assert not Membership.objects.filter(team=cast.team, user=cast.viewer).exists()
    refused = cast.client_for(cast.owner).post(f"/teams/{cast.team.public_id}/leave/", follow=True)
    assert "at least one owner" in refused.content.decode()
    assert _member(cast, cast.owner).role == Role.OWNER


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
    invite = f"/teams/{cast.team.public_id}/invitations/"
    assert client.post(invite, {"who": "nina", "role": "owner"}).status_code == 403
    assert client.post(f"{base}{viewer.public_id}/role/", {"role": "owner"}).status_code == 403
    assert client.post(f"{base}{viewer.public_id}/remove/").status_code == 403
    assert cast.team.memberships.count() == 3
    assert _member(cast, cast.viewer).role == Role.VIEWER


def test_outsider_gets_404_for_another_teams_pages_and_actions(cast: Cast) -> None:
    client = cast.client_for(cast.outsider)
    viewer = _member(cast, cast.viewer)
    base = f"/teams/{cast.team.public_id}/"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}invitations/", {"who": "oscar", "role": "owner"}).status_code == 404
    assert client.post(f"{base}leave/").status_code == 404
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
    assert "Invite someone" not in page


def test_removing_a_member_who_is_already_gone_is_a_clear_message(cast: Cast) -> None:
    # Two clicks (or two owners) at once: the second found no row and was a 500.
    member = _member(cast, cast.viewer)
    team_service.remove_member(member)
    with pytest.raises(team_service.TeamError, match="no longer in"):
        team_service.remove_member(member)


def test_an_invitation_of_another_team_cannot_be_revoked_through_this_one(cast: Cast) -> None:
    theirs = factories.personal_team(cast.outsider)
    invitation = team_service.invite(theirs, cast.outsider, "nina", Role.VIEWER)
    client = cast.client_for(cast.owner)
    ours = f"/teams/{cast.team.public_id}/invitations/{invitation.public_id}/revoke/"
    assert client.post(ours).status_code == 404
    direct = f"/teams/{theirs.public_id}/invitations/{invitation.public_id}/revoke/"
    assert client.post(direct).status_code == 404
    assert team_service.is_pending(invitation)
