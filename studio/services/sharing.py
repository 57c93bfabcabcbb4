"""View-only share links: one video, its poster and its prompt, to anyone with the link.

The token is 256 random bits (not a signature), so a link is unguessable and is
revoked by a row change; a new link after a revoke has a new address. A link
stops working while its video is hidden or its team suspended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.models import ShareLink, Video

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def live_link(video: Video) -> ShareLink | None:
    return ShareLink.objects.filter(video=video, revoked_at=None).first()


def share_video(video: Video, by: User) -> ShareLink:
    """The video's live link, made now if it has none (a second click gets the same one)."""
    existing = live_link(video)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return ShareLink.objects.create(video=video, team_id=video.team_id, created_by=by)
    except IntegrityError:
        # Another request made it first: the one-live-link constraint kept one.
        found = live_link(video)
        if found is None:
            raise
        return found


def revoke_link(video: Video, by: User) -> bool:
    """End the video's live link; False when there was none (already revoked)."""
    return bool(
        ShareLink.objects.filter(video=video, revoked_at=None).update(revoked_at=timezone.now())
    )


def shared_video(token: str) -> Video | None:
    """The video a live link points to, or None (read as 404) for anything else."""
    if not token or len(token) > 64:
        return None
    link = (
        ShareLink.objects.select_related("video__job", "video__team")
        .filter(token=token, revoked_at=None)
        .first()
    )
    if link is None:
        return None
    video = link.video
    if video.hidden_at is not None or video.team.suspended_at is not None:
        return None
    return video
