"""One ownership helper per creator object: 404 for outsiders, 403 for viewers on changes.

Each helper finds the object and the user's role in its team in ONE query
(a join on the user's own membership, its role annotated), because job cards
are polled every two seconds by every open tab.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import F, Model, QuerySet
from django.http import Http404

from studio.models import Job, ReferenceImage, Role, Video
from studio.typing import AuthedRequest

EDIT_ROLES = (Role.OWNER, Role.EDITOR)


def for_member[M: Model](queryset: QuerySet[M], request: AuthedRequest, **lookup: Any) -> M:
    # The annotation reuses the filter's join: the role is the user's own.
    try:
        return (
            queryset.filter(team__memberships__user=request.user, **lookup)
            .annotate(my_role=F("team__memberships__role"))
            .get()
        )
    except ObjectDoesNotExist:
        raise Http404("No such object.") from None


def can_edit(obj: Any) -> bool:
    return getattr(obj, "my_role", None) in EDIT_ROLES


def _require_edit(obj: Any) -> None:
    if not can_edit(obj):
        raise PermissionDenied("Viewers cannot change anything in this team.")


def get_job_for_member(request: AuthedRequest, job_id: UUID, *, edit: bool = False) -> Job:
    # Only what a card shows: an edit's source (for its title) loads on demand.
    job = for_member(Job.objects.select_related("video", "created_by"), request, public_id=job_id)
    if edit:
        _require_edit(job)
    return job


# What a polled card reads: loading whole rows (30 job columns, the video's and
# the creator's) cost more than the rest of a poll.
CARD_FIELDS = (
    "public_id",
    "team_id",
    "status",
    "mode",
    "provider",
    "model",
    "prompt_text",
    "progress",
    "error_message",
    "fail_reason",
    "cost_credits",
    "created_at",
    "updated_at",
    "finished_at",
    "source_video_id",
    "created_by__username",
    "video__public_id",
    "video__kind",
)


def get_job_card_for_member(request: AuthedRequest, job_id: UUID) -> Job:
    """The lean read behind a polled card: only the columns the card shows."""
    return for_member(
        Job.objects.select_related("video", "created_by").only(*CARD_FIELDS),
        request,
        public_id=job_id,
    )


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
    return video


def get_reference_for_member(
    request: AuthedRequest, image_id: UUID, *, edit: bool = False
) -> ReferenceImage:
    image = for_member(ReferenceImage.objects.all(), request, public_id=image_id)
    if edit:
        _require_edit(image)
    return image
