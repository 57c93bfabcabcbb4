"""Teams, memberships, invitations and projects: every change to them goes through here.

Nobody is put in a team: an owner invites (`invite`), the invitee accepts or
declines; owners revoke, members leave (`remove_member` on their own row).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from studio.models import Invitation, Membership, Project, Role, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SESSION_KEY = "studio_team"


class TeamError(Exception):
    """A team change that is not allowed; the message is shown to the user."""


def create_team(user: User, name: str, *, personal: bool = False) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name.strip(), personal=personal)
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return team


def ensure_personal_team(user: User) -> Team:
    existing = Team.objects.filter(personal=True, memberships__user=user).first()
    if existing is not None:
        return existing
    return create_team(user, f"{user.get_username()}'s team", personal=True)


def current_membership(request: HttpRequest) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("team").filter(user=user)
    wanted = request.session.get(SESSION_KEY)
    if wanted:
        found = memberships.filter(team__public_id=wanted).first()
        if found is not None:
            return found
    found = memberships.order_by("-team__personal", "created_at").first()
    if found is not None:
        request.session[SESSION_KEY] = str(found.team.public_id)
    return found


def switch_team(request: HttpRequest, team: Team) -> None:
    request.session[SESSION_KEY] = str(team.public_id)


def _pending() -> Q:
    return Q(
        accepted_at__isnull=True,
        declined_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def _offered_to(user: User) -> Q:
    # A username invitation for a name nobody had yet goes to whoever takes it.
    return Q(invitee=user) | Q(invitee__isnull=True, email="", username__iexact=user.username)


def invite(team: Team, by: User, username_or_email: str, role: str) -> Invitation:
    """Offer `role` in `team` to an account by username, or to whoever gets the email link.

    The owner is told the same thing whether or not an account has that name or
    address; only an existing member is named as such (the owner sees the
    member list anyway).
    """
    if role not in Role.values:
        raise TeamError("Choose one of the listed roles.")
    target = username_or_email.strip()
    if not target:
        raise TeamError("Give a username or an email address.")
    fields: dict[str, Any] = {"email": target} if "@" in target else {"username": target}
    if "username" in fields:
        invitee = get_user_model().objects.filter(username__iexact=target, is_active=True).first()
        if invitee is not None and team.memberships.filter(user=invitee).exists():
            raise TeamError(f"{invitee.get_username()} is already a member of {team.name}.")
        fields["invitee"] = invitee
    key = "email__iexact" if "email" in fields else "username__iexact"
    if team.invitations.filter(_pending(), **{key: target}).exists():
        raise TeamError(f"{target} already has an invitation waiting: revoke it to send another.")
    return Invitation.objects.create(
        team=team,
        role=role,
        invited_by=by,
        expires_at=timezone.now() + timedelta(days=settings.STUDIO_INVITATION_DAYS),
        **fields,
    )


def pending_invitations(user: User) -> QuerySet[Invitation]:
    """The invitations offered to this account by username that it has not answered."""
    return (
        Invitation.objects.filter(_pending(), _offered_to(user))
        .select_related("team", "invited_by")
        .order_by("-created_at")
    )


def waiting_invitations(team: Team) -> QuerySet[Invitation]:
    """A team's invitations nobody has answered yet, for its owners."""
    return team.invitations.filter(_pending()).select_related("invited_by", "invitee")


def invitation_for(user: User, token: str) -> Invitation | None:
    """The invitation behind a link, if `user` may answer it (None reads as 404)."""
    found = Invitation.objects.select_related("team", "invited_by").filter(token=token).first()
    if found is None:
        return None
    if found.username and not Invitation.objects.filter(_offered_to(user), pk=found.pk).exists():
        return None  # offered to another account: the link is no use to this one
    return found


def is_pending(invitation: Invitation) -> bool:
    return Invitation.objects.filter(_pending(), pk=invitation.pk).exists()


_ANSWERED = "This invitation was already answered, revoked, or has expired."


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Join the team; a second accept (another tab, a double click) changes nothing."""
    try:
        with transaction.atomic():
            claimed = Invitation.objects.filter(_pending(), pk=invitation.pk).update(
                accepted_at=timezone.now(), accepted_by=user
            )
            if claimed != 1:
                raise TeamError(_ANSWERED)
            return Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
    except IntegrityError:
        raise TeamError(f"You are already a member of {invitation.team.name}.") from None


def decline_invitation(invitation: Invitation, user: User) -> None:
    answered = Invitation.objects.filter(_pending(), pk=invitation.pk)
    if not answered.update(declined_at=timezone.now()):
        raise TeamError(_ANSWERED)


def revoke_invitation(invitation: Invitation, by: User) -> None:
    answered = Invitation.objects.filter(_pending(), pk=invitation.pk)
    if not answered.update(revoked_at=timezone.now()):
        raise TeamError(_ANSWERED)


def _lock_owners(team: Team) -> int:
    # Lock the team's memberships so two owners demoting each other at once
    # cannot leave the team without one.
    rows = list(Membership.objects.select_for_update().filter(team=team).values_list("role"))
    return sum(1 for (role,) in rows if role == Role.OWNER)


def change_role(membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise TeamError("Choose one of the listed roles.")
    with transaction.atomic():
        owners = _lock_owners(membership.team)
        current = Membership.objects.filter(pk=membership.pk).first()
        if current is None:
            raise TeamError(f"{membership.user.get_username()} is no longer in {membership.team}.")
        if current.role == Role.OWNER and role != Role.OWNER and owners <= 1:
            raise TeamError("A team needs at least one owner: make someone else owner first.")
        current.role = role
        current.save(update_fields=["role"])
    return current


def remove_member(membership: Membership) -> None:
    with transaction.atomic():
        owners = _lock_owners(membership.team)
        current = Membership.objects.filter(pk=membership.pk).first()
        if current is None:
            # A second click, or another owner, got there first.
            raise TeamError(f"{membership.user.get_username()} is no longer in {membership.team}.")
        if current.role == Role.OWNER and owners <= 1:
            raise TeamError("A team needs at least one owner: make someone else owner first.")
        current.delete()


def create_project(team: Team, user: User, name: str) -> Project:
    return Project.objects.create(team=team, name=name.strip(), created_by=user)


def rename_project(project: Project, name: str) -> Project:
    project.name = name.strip()
    project.save(update_fields=["name", "updated_at"])
    return project


def archive_project(project: Project) -> Project:
    Project.objects.filter(pk=project.pk, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    project.refresh_from_db()
    return project


def restore_project(project: Project) -> Project:
    Project.objects.filter(pk=project.pk).update(archived_at=None, updated_at=timezone.now())
    project.refresh_from_db()
    return project
