"""Permissions of the web side, in one place: one helper per object.

Each `get_<thing>_for_member(request, id, edit=False)` finds the object by its
public UUID among the teams the user belongs to (another team's id is then
indistinguishable from an id that does not exist: 404) and, with `edit=True`,
refuses viewers (403). Objects come back with the user's role in their team
annotated as `my_role` and the team's `team_suspended_at` (one query: the
annotations reuse the filter's join).

Moderation holds here too: a suspended team changes nothing and plays no media
(403, with the reason), and a video staff hid, everything made from it and its
frames answer 404 to everyone but staff.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import F, Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from studio.models import Job, Mask, Membership, Project, ReferenceImage, Role, Video
from studio.services.moderation import SUSPENDED_TEAM
from studio.typing import AuthedRequest

EDIT_ROLES = (Role.OWNER, Role.EDITOR)


def for_member[M: Model](queryset: QuerySet[M], request: AuthedRequest, **lookup: Any) -> M:
    # The annotation reuses the filter's join: the role is the user's own.
    try:
        return (
            queryset.filter(team__memberships__user=request.user, **lookup)
            .annotate(
                my_role=F("team__memberships__role"), team_suspended_at=F("team__suspended_at")
            )
            .get()
        )
    except ObjectDoesNotExist:
        raise Http404("No such object.") from None


def can_edit(obj: Any) -> bool:
    """Whether the user may change `obj`, found through `for_member`."""
    return getattr(obj, "my_role", None) in EDIT_ROLES


def _require_edit(obj: Any) -> None:
    if not can_edit(obj):
        raise PermissionDenied("Viewers cannot change anything in this team.")
    _require_active_team(obj)


def _require_active_team(obj: Any) -> None:
    if getattr(obj, "team_suspended_at", None) is not None:
        raise PermissionDenied(SUSPENDED_TEAM)


def membership_for(request: AuthedRequest, team_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("team").filter(user=request.user, team_id=team_id).first()
    )
    if membership is None:
        raise Http404("No such object.")
    return membership


def require_editor(membership: Membership) -> None:
    if not membership.can_edit:
        raise PermissionDenied("Viewers cannot change anything in this team.")
    if membership.team.suspended_at is not None:
        raise PermissionDenied(SUSPENDED_TEAM)


def require_owner(membership: Membership) -> None:
    if membership.role != Role.OWNER:
        raise PermissionDenied("Only the team's owners can do that.")


def current_membership_or_404(request: AuthedRequest) -> Membership:
    membership: Membership | None = getattr(request, "membership", None)
    if not membership:
        raise Http404("You are not a member of any team.")
    return membership


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


def get_job_for_member(request: AuthedRequest, job_id: UUID, *, edit: bool = False) -> Job:
    # What a card shows comes along; an edit's source (for its title) loads on demand.
    job = for_member(Job.objects.select_related("video", "created_by"), request, public_id=job_id)
    if edit:
        _require_edit(job)
    return job


def get_video_for_member(request: AuthedRequest, video_id: UUID, *, edit: bool = False) -> Video:
    video = for_member(
        Video.objects.select_related(
            "job__source_video__job", "job__mask", "project", "team", "created_by"
        ),
        request,
        public_id=video_id,
    )
    if edit:
        _require_edit(video)
        if video.hidden_at is not None:
            raise PermissionDenied("This video was hidden by the moderators.")
    return video


def get_video_for_viewing(request: AuthedRequest, video_id: UUID) -> Video:
    """Members see their team's videos; staff see any, for moderation.

    A hidden video's media is withheld from everyone but staff.
    """
    if request.user.is_staff:
        video = Video.objects.select_related("team").filter(public_id=video_id).first()
        if video is None:
            raise Http404("No such video.")
        return video
    video = for_member(Video.objects.all(), request, public_id=video_id)
    if video.hidden_at is not None:
        raise Http404("No such video.")
    _require_active_team(video)
    return video


def get_reference_for_viewing(request: AuthedRequest, image_id: UUID) -> ReferenceImage:
    """A library image's media: withheld when it is a frame of a hidden video."""
    queryset = ReferenceImage.objects.select_related("source_video")
    if request.user.is_staff:
        image = queryset.filter(public_id=image_id).first()
        if image is None:
            raise Http404("No such image.")
        return image
    image = for_member(queryset, request, public_id=image_id)
    if image.source_video is not None and image.source_video.hidden_at is not None:
        raise Http404("No such image.")
    _require_active_team(image)
    return image


def get_mask_for_viewing(request: AuthedRequest, mask_id: UUID) -> Mask:
    mask = for_member(Mask.objects.select_related("video"), request, public_id=mask_id)
    if mask.video.hidden_at is not None and not request.user.is_staff:
        raise Http404("No such mask.")
    _require_active_team(mask)
    return mask


def get_reference_for_member(
    request: AuthedRequest, image_id: UUID, *, edit: bool = False
) -> ReferenceImage:
    image = for_member(ReferenceImage.objects.all(), request, public_id=image_id)
    if edit:
        _require_edit(image)
    return image
