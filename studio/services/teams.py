"""Teams, memberships and projects: every change to them goes through here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from studio.models import Membership, Project, Role, Team

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


def find_user(username_or_email: str) -> User | None:
    value = username_or_email.strip()
    if not value:
        return None
    users = get_user_model().objects.filter(is_active=True)
    return users.filter(Q(username__iexact=value) | Q(email__iexact=value)).order_by("pk").first()


def add_member(team: Team, user: User, role: str) -> Membership:
    if role not in Role.values:
        raise TeamError("Choose one of the listed roles.")
    try:
        with transaction.atomic():
            return Membership.objects.create(team=team, user=user, role=role)
    except IntegrityError:
        raise TeamError(f"{user.get_username()} is already a member of {team.name}.") from None


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
