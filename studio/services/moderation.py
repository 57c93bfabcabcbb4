"""Moderation: reports, hiding a video and all its lineage, suspensions, the prompt blocklist.

Hiding is stored, not computed on read: `Video.hidden_at` and `Job.hidden_at`
are set on the hidden video and on everything derived from it (edits through
`Video.parent` and `Job.source_video`, re-runs through `Job.rerun_of`, jobs that
used one of its frames through `ReferenceImage.source_video`), each pointing at
the video staff hid (`hidden_root`). Every media request and gallery query then
checks one column of a row it reads anyway; only hide and restore walk the tree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from studio.models import (
    BlocklistHit,
    BlocklistRule,
    FailReason,
    Job,
    ReferenceImage,
    Report,
    Status,
    Team,
    Video,
)
from studio.services import audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    Actor = HttpRequest | User


class ModerationError(Exception):
    """A moderation step that cannot happen now; the message is shown as it is."""


SUSPENDED_TEAM = (
    "This team is suspended by the moderators: it cannot generate, upload or play media."
)
HIDDEN_SOURCE = "That video was hidden by the moderators; nothing new can be made from it."


def _user_of(by: Actor) -> User:
    return by.user if isinstance(by, HttpRequest) else by  # type: ignore[return-value]


# Reports


def file_report(video: Video, by: Actor, reason: str) -> Report:
    """A member's report, at most `STUDIO_REPORTS_PER_HOUR` per member per hour."""
    user = _user_of(by)
    since = timezone.now() - timedelta(hours=1)
    limit = settings.STUDIO_REPORTS_PER_HOUR
    if Report.objects.filter(reporter=user, created_at__gte=since).count() >= limit:
        raise ModerationError(
            f"You have sent {limit} reports in the last hour; the moderators will look at "
            "those first. Try again later."
        )
    report = Report.objects.create(video=video, reporter=user, reason=reason.strip())
    audit.record(by, "video.report", video, reason=report.reason[:200])
    return report


# Hiding and restoring


def _lineage(root: Video) -> tuple[set[int], set[int]]:
    """Primary keys of the videos and jobs made from `root`, itself included."""
    videos: set[int] = {root.pk}
    jobs: set[int] = {root.job_id} if root.job_id else set()
    new_videos, new_jobs = set(videos), set(jobs)
    while new_videos or new_jobs:
        derived_jobs = set(
            Job.objects.filter(team_id=root.team_id)
            .filter(
                Q(source_video_id__in=new_videos)
                | Q(inputs__image__source_video_id__in=new_videos)
                | Q(rerun_of_id__in=new_jobs)
            )
            .values_list("pk", flat=True)
        )
        derived_videos = set(
            Video.objects.filter(team_id=root.team_id)
            .filter(Q(parent_id__in=new_videos) | Q(job_id__in=derived_jobs | new_jobs))
            .values_list("pk", "job_id")
        )
        video_ids = {pk for pk, _ in derived_videos}
        job_ids = derived_jobs | {job for _, job in derived_videos if job}
        new_videos, new_jobs = video_ids - videos, job_ids - jobs
        videos |= new_videos
        jobs |= new_jobs
    return videos, jobs


def _withhold(root: Video, at: datetime) -> int:
    videos, jobs = _lineage(root)
    # A video staff hid directly keeps pointing at itself.
    Video.objects.filter(pk__in=videos).exclude(hidden_root_id=F("pk")).update(
        hidden_at=at, hidden_root=root
    )
    Job.objects.filter(pk__in=jobs).update(hidden_at=at, hidden_root=root)
    return len(videos) - 1


def _open_reports(video: Video) -> Any:
    return Report.objects.filter(video=video, resolved_at__isnull=True)


def hide_video(video: Video, by: Actor, note: str = "") -> int:
    """Hide `video` and everything made from it; returns how many derived videos went too."""
    now = timezone.now()
    with transaction.atomic():
        # The conditional update is the claim: a second hide at the same moment finds 0 rows.
        claimed = (
            Video.objects.filter(pk=video.pk)
            .exclude(hidden_root_id=F("pk"))
            .update(hidden_at=now, hidden_root_id=video.pk)
        )
        if claimed != 1:
            raise ModerationError("This video is already hidden.")
        derived = _withhold(video, now)
        _open_reports(video).update(resolved_at=now, resolved_by=_user_of(by), resolution="hidden")
        audit.record(by, "video.hide", video, derived=derived, note=note)
    return derived


def restore_video(video: Video, by: Actor) -> None:
    with transaction.atomic():
        restored = Video.objects.filter(pk=video.pk, hidden_root_id=F("pk")).update(
            hidden_at=None, hidden_root=None
        )
        if restored != 1:
            if Video.objects.filter(pk=video.pk, hidden_at__isnull=False).exists():
                raise ModerationError(
                    "This video is hidden because a video it was made from is hidden; "
                    "restore that one."
                )
            raise ModerationError("This video is not hidden.")
        Video.objects.filter(hidden_root=video).update(hidden_at=None, hidden_root=None)
        Job.objects.filter(hidden_root=video).update(hidden_at=None, hidden_root=None)
        # What was also made from another hidden video stays hidden.
        for other in Video.objects.filter(team_id=video.team_id, hidden_root_id=F("pk")):
            _withhold(other, other.hidden_at or timezone.now())
        audit.record(by, "video.restore", video)


def inherited_hidden(job: Job) -> tuple[datetime | None, int | None]:
    """`hidden_at` and `hidden_root_id` for a job's new video: hidden if the job is.

    Read fresh: the job may have been hidden while it ran.
    """
    row = Job.objects.filter(pk=job.pk).values_list("hidden_at", "hidden_root_id").first()
    return row if row is not None else (None, None)


def dismiss_reports(video: Video, by: Actor) -> int:
    dismissed = _open_reports(video).update(
        resolved_at=timezone.now(), resolved_by=_user_of(by), resolution="dismissed"
    )
    if not dismissed:
        raise ModerationError("There is no open report on this video any more.")
    audit.record(by, "report.dismiss", video, reports=dismissed)
    return dismissed


def dismiss_blocked_job(job: Job, by: Actor) -> None:
    if not Job.objects.filter(pk=job.pk, reviewed_at__isnull=True).update(
        reviewed_at=timezone.now()
    ):
        raise ModerationError("This blocked job was reviewed already.")
    audit.record(by, "job.block_reviewed", job)


def dismiss_hit(hit: BlocklistHit, by: Actor) -> None:
    if not BlocklistHit.objects.filter(pk=hit.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=_user_of(by)
    ):
        raise ModerationError("This blocklist hit was dismissed already.")
    audit.record(by, "blocklist.hit_dismiss", hit)


# Suspensions


def suspend_user(user: User, by: Actor) -> None:
    if user.is_staff or user.is_superuser:
        raise ModerationError("Staff accounts are suspended in the Django admin, not here.")
    # is_active=False: the auth backend refuses the sign-in and ends open sessions.
    if not type(user).objects.filter(pk=user.pk, is_active=True).update(is_active=False):
        raise ModerationError(f"{user.get_username()} is suspended already.")
    audit.record(by, "user.suspend", user)


def unsuspend_user(user: User, by: Actor) -> None:
    if not type(user).objects.filter(pk=user.pk, is_active=False).update(is_active=True):
        raise ModerationError(f"{user.get_username()} is not suspended.")
    audit.record(by, "user.unsuspend", user)


def suspend_team(team: Team, by: Actor) -> None:
    if not Team.objects.filter(pk=team.pk, suspended_at__isnull=True).update(
        suspended_at=timezone.now()
    ):
        raise ModerationError(f"{team.name} is suspended already.")
    audit.record(by, "team.suspend", team)


def unsuspend_team(team: Team, by: Actor) -> None:
    if not Team.objects.filter(pk=team.pk, suspended_at__isnull=False).update(suspended_at=None):
        raise ModerationError(f"{team.name} is not suspended.")
    audit.record(by, "team.unsuspend", team)


def suspension_message(team: Team | None) -> str:
    return SUSPENDED_TEAM if team is not None and team.suspended_at is not None else ""


# The prompt blocklist


@lru_cache(maxsize=64)
def _compile(entry: str, is_regex: bool) -> re.Pattern[str] | None:
    try:
        if is_regex:
            return re.compile(entry, re.IGNORECASE)
        return re.compile(rf"\b{re.escape(entry)}\b", re.IGNORECASE)
    except re.error:
        return None  # a bad setting must not stop every submit


def _setting_entries() -> list[tuple[str, bool]]:
    entries = []
    for raw in re.split(r"[;\n]", settings.STUDIO_PROMPT_BLOCKLIST or ""):
        entry = raw.strip()
        if len(entry) > 2 and entry.startswith("/") and entry.endswith("/"):
            entries.append((entry[1:-1], True))
        elif entry:
            entries.append((entry, False))
    return entries


def blocklist_match(text: str) -> str:
    """The first blocklist entry the text matches, or ""."""
    rules = list(BlocklistRule.objects.filter(active=True).values_list("pattern", "is_regex"))
    for pattern, is_regex in [*_setting_entries(), *rules]:
        compiled = _compile(pattern, is_regex)
        if compiled is not None and compiled.search(text):
            return f"/{pattern}/" if is_regex else pattern
    return ""


def submit_refusals(
    team: Team,
    user: User,
    prompt_text: str,
    *,
    source_video: Video | None = None,
    images: Sequence[tuple[ReferenceImage, str]] = (),
    rerun_of: Job | None = None,
) -> dict[str, list[str]]:
    """Why moderation refuses a new job (form field → messages); empty when it may go.

    A blocked prompt is recorded for the review queue: call this outside the
    transaction that the refusal rolls back, or the record goes with it.
    """
    errors: dict[str, list[str]] = {}
    if Team.objects.filter(pk=team.pk, suspended_at__isnull=False).exists():
        errors["__all__"] = [SUSPENDED_TEAM]
        return errors
    hidden = Video.objects.filter(hidden_at__isnull=False)
    if source_video is not None and hidden.filter(pk=source_video.pk).exists():
        errors.setdefault("source_video", []).append(HIDDEN_SOURCE)
    frame_sources = [image.source_video_id for image, _ in images if image.source_video_id]
    if frame_sources and hidden.filter(pk__in=frame_sources).exists():
        errors.setdefault("images", []).append(
            "An image is a frame of a video the moderators hid; choose another image."
        )
    if (
        rerun_of is not None
        and Job.objects.filter(pk=rerun_of.pk, hidden_at__isnull=False).exists()
    ):
        errors.setdefault("__all__", []).append(HIDDEN_SOURCE)
    matched = blocklist_match(prompt_text) if prompt_text.strip() else ""
    if matched:
        hit = BlocklistHit.objects.create(
            team=team, user=user, prompt_text=prompt_text[:4000], matched=matched[:200]
        )
        audit.record(user, "blocklist.hit", hit, team=team, matched=matched)
        errors.setdefault("prompt", []).append(
            "This prompt contains words this Studio does not accept; reword it."
        )
    return errors


def add_rule(pattern: str, is_regex: bool, note: str, by: Actor) -> BlocklistRule:
    rule = BlocklistRule.objects.create(
        pattern=pattern, is_regex=is_regex, note=note, created_by=_user_of(by)
    )
    audit.record(by, "blocklist.rule_add", None, pattern=str(rule), note=note)
    return rule


def deactivate_rule(rule: BlocklistRule, by: Actor) -> None:
    if not BlocklistRule.objects.filter(pk=rule.pk, active=True).update(active=False):
        raise ModerationError("That rule is off already.")
    audit.record(by, "blocklist.rule_off", None, pattern=str(rule))


# The review queue

QUEUE_LIMIT = 100


@dataclass
class ReviewQueue:
    reports: list[Report] = field(default_factory=list)
    blocked_jobs: list[Job] = field(default_factory=list)
    hits: list[BlocklistHit] = field(default_factory=list)
    hidden: list[Video] = field(default_factory=list)
    rules: list[BlocklistRule] = field(default_factory=list)
    suspended_teams: list[Team] = field(default_factory=list)


def review_queue() -> ReviewQueue:
    return ReviewQueue(
        reports=list(
            Report.objects.filter(resolved_at__isnull=True)
            .select_related("video__team", "video__created_by", "video__job", "reporter")
            .order_by("-created_at")[:QUEUE_LIMIT]
        ),
        blocked_jobs=list(
            Job.objects.filter(
                status=Status.FAILED,
                fail_reason=FailReason.CONTENT_FILTERED,
                reviewed_at__isnull=True,
            )
            .select_related("team", "created_by")
            .order_by("-created_at")[:QUEUE_LIMIT]
        ),
        hits=list(
            BlocklistHit.objects.filter(resolved_at__isnull=True)
            .select_related("team", "user")
            .order_by("-created_at")[:QUEUE_LIMIT]
        ),
        hidden=list(
            Video.objects.filter(hidden_root_id=F("pk"))
            .select_related("team", "job")
            .order_by("-hidden_at")[:QUEUE_LIMIT]
        ),
        rules=list(BlocklistRule.objects.filter(active=True)),
        suspended_teams=list(Team.objects.filter(suspended_at__isnull=False)[:QUEUE_LIMIT]),
    )
