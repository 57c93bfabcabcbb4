"""One ownership helper per object: 404 for outsiders, 403 for too small a role.

Objects are looked up by their public UUID among the teams the user belongs to,
so another team's id is indistinguishable from an id that does not exist.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from studio.models import Membership, Project, Role
from studio.typing import AuthedRequest


def membership_for(request: AuthedRequest, team_id: int) -> Membership:
    membership = Membership.objects.filter(user=request.user, team_id=team_id).first()
    if membership is None:
        raise Http404("No such object.")
    return membership


def require_editor(membership: Membership) -> None:
    if not membership.can_edit:
        raise PermissionDenied("Viewers cannot change anything in this team.")


def require_owner(membership: Membership) -> None:
    if membership.role != Role.OWNER:
        raise PermissionDenied("Only the team's owners can do that.")


def get_team_membership(request: AuthedRequest, team_public_id: UUID) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("team"),
        team__public_id=team_public_id,
        user=request.user,
    )


def get_project_for_member(
    request: AuthedRequest, project_public_id: UUID, *, edit: bool = False
) -> tuple[Project, Membership]:
    project = get_object_or_404(
        Project.objects.select_related("team"),
        public_id=project_public_id,
        team__memberships__user=request.user,
    )
    membership = membership_for(request, project.team_id)
    if edit:
        require_editor(membership)
    return project, membership


def current_membership_or_404(request: AuthedRequest) -> Membership:
    membership: Membership | None = getattr(request, "membership", None)
    if not membership:
        raise Http404("You are not a member of any team.")
    return membership
