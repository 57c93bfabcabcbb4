"""Read-side queries of the creator UI: gallery pages, queues, lineage.

Every function here runs a fixed number of queries whatever the team's size:
relations come through select_related, the viewer's favourite state through
an `Exists` subquery, and pages are cut with a keyset cursor (the public id of
the last job shown) instead of an ever-growing OFFSET.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet

from studio.models import (
    IN_FLIGHT_STATUSES,
    Favourite,
    Job,
    Project,
    Prompt,
    Status,
    Team,
    Video,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PAGE_SIZE = 24
ACTIVE_STATUSES = frozenset({Status.DRAFT, *IN_FLIGHT_STATUSES})
STATUS_FILTERS: dict[str, frozenset[str] | None] = {
    "": frozenset({Status.SUCCEEDED}),
    "active": ACTIVE_STATUSES,
    "needs_attention": frozenset({Status.NEEDS_ATTENTION}),
    "failed": frozenset({Status.FAILED}),
    "cancelled": frozenset({Status.CANCELLED}),
    "all": None,
}


# What a gallery tile shows. Whole rows of five tables cost three times the
# query itself in model building alone.
TILE_FIELDS = (
    "public_id",
    "team_id",
    "status",
    "mode",
    "provider",
    "model",
    "prompt_text",
    "created_at",
    "created_by__username",
    "video__public_id",
    "video__kind",
    "video__thumbnail",
    "video__poster",
    "video__duration_seconds",
    "video__hidden_at",
    "source_video__job__prompt_text",
    "source_video__job__mode",
)


@dataclass
class GalleryQuery:
    q: str = ""
    mode: str = ""
    provider: str = ""
    model: str = ""
    status: str = ""
    creator: str = ""
    project: UUID | None = None
    date_from: date | None = None
    date_to: date | None = None
    favourites: bool = False
    after: UUID | None = None

    @classmethod
    def from_cleaned(cls, data: dict[str, Any]) -> GalleryQuery:
        provider, _, model = (data.get("model") or "").partition(":")
        return cls(
            q=(data.get("q") or "").strip(),
            mode=data.get("mode") or "",
            provider=provider,
            model=model,
            status=data.get("status") or "",
            creator=data.get("creator") or "",
            project=data.get("project") or None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            favourites=bool(data.get("favourites")),
            after=data.get("after"),
        )


@dataclass
class GalleryPage:
    items: list[Job] = field(default_factory=list)
    next_cursor: UUID | None = None


def _is_favourite(user: User) -> Exists:
    return Exists(Favourite.objects.filter(user=user, video_id=OuterRef("video__id")))


def with_favourite(queryset: QuerySet[Job], user: User) -> QuerySet[Job]:
    return queryset.annotate(is_favourite=_is_favourite(user))


def gallery_jobs(
    team: Team,
    user: User,
    query: GalleryQuery,
    *,
    project: Project | None = None,
    include_hidden: bool = False,
) -> QuerySet[Job]:
    jobs = Job.objects.filter(team=team)
    if project is not None:
        jobs = jobs.filter(project=project)
    elif query.project:
        jobs = jobs.filter(project__public_id=query.project)
    statuses = STATUS_FILTERS.get(query.status, STATUS_FILTERS[""])
    if statuses is not None:
        jobs = jobs.filter(status__in=statuses)
    if not include_hidden:
        # Job.hidden_at covers what is derived from a hidden video, finished or not.
        jobs = jobs.filter(Q(video__isnull=True) | Q(video__hidden_at__isnull=True))
        jobs = jobs.filter(hidden_at__isnull=True)
    if query.mode:
        jobs = jobs.filter(mode=query.mode)
    if query.provider and query.model:
        jobs = jobs.filter(provider=query.provider, model=query.model)
    if query.creator:
        jobs = jobs.filter(created_by__username=query.creator)
    if query.date_from:
        jobs = jobs.filter(created_at__date__gte=query.date_from)
    if query.date_to:
        jobs = jobs.filter(created_at__date__lte=query.date_to)
    if query.q:
        jobs = jobs.filter(prompt_text__icontains=query.q)
    if query.favourites:
        jobs = jobs.filter(_is_favourite(user))
    jobs = with_favourite(jobs, user)
    return (
        jobs.select_related("video", "created_by", "source_video__job")
        .only(*TILE_FIELDS)
        .order_by("-created_at", "-id")
    )


def gallery_page(jobs: QuerySet[Job], after: UUID | None, size: int = PAGE_SIZE) -> GalleryPage:
    if after is not None:
        mark = Job.objects.filter(public_id=after).values_list("created_at", "id").first()
        if mark is not None:
            created_at, pk = mark
            jobs = jobs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    items = list(jobs[: size + 1])
    page = GalleryPage(items=items[:size])
    if len(items) > size:
        page.next_cursor = items[size - 1].public_id
    return page


def project_queue(project: Project, limit: int = 3) -> list[Job]:
    """The project's jobs that are still moving, then the latest finished ones."""
    base = (
        project.jobs.filter(hidden_at__isnull=True)
        .select_related("video", "created_by", "source_video__job")
        .order_by("-created_at", "-id")
    )
    active = list(base.exclude(status__in=[Status.SUCCEEDED, Status.FAILED, Status.CANCELLED]))
    recent = list(
        base.filter(status__in=[Status.SUCCEEDED, Status.FAILED, Status.CANCELLED])[:limit]
    )
    return active + recent


def team_queue(team: Team) -> dict[str, list[Job]]:
    base = (
        team.jobs.filter(hidden_at__isnull=True)
        .select_related("video", "project", "created_by", "source_video__job")
        .order_by("created_at", "id")
    )
    return {
        "active": list(base.filter(status__in=ACTIVE_STATUSES)),
        "attention": list(base.filter(status=Status.NEEDS_ATTENTION)),
        "failed": list(
            base.filter(status__in=[Status.FAILED, Status.CANCELLED]).order_by(
                "-finished_at", "-id"
            )[:20]
        ),
    }


@dataclass
class LineageNode:
    video: Video
    children: list[LineageNode] = field(default_factory=list)
    current: bool = False


MAX_LINEAGE_DEPTH = 20


def lineage(video: Video, *, include_hidden: bool = False) -> LineageNode:
    """The tree of videos derived from the same root as `video`.

    One query per generation, up and down; derived edits rarely go deeper
    than upscale → GIF, and the depth is capped.
    """
    columns = ("job", "created_by")
    root = video
    for _ in range(MAX_LINEAGE_DEPTH):
        if root.parent_id is None:
            break
        parent = Video.objects.select_related(*columns).filter(pk=root.parent_id).first()
        if parent is None:
            break
        root = parent
    top = LineageNode(root, current=root.pk == video.pk)
    level = [top]
    for _ in range(MAX_LINEAGE_DEPTH):
        by_id = {node.video.pk: node for node in level}
        children: Iterable[Video] = (
            Video.objects.select_related(*columns)
            .filter(parent_id__in=list(by_id), team_id=video.team_id)
            .filter(Q() if include_hidden else Q(hidden_at__isnull=True))
            .order_by("created_at", "id")
        )
        level = []
        for child in children:
            node = LineageNode(child, current=child.pk == video.pk)
            by_id[child.parent_id].children.append(node)  # type: ignore[index]
            level.append(node)
        if not level:
            break
    return top


PROMPT_HISTORY = 12


def recent_prompts(project: Project) -> list[Prompt]:
    return list(
        Prompt.objects.filter(project=project)
        .select_related("parent")
        .order_by("-created_at", "-id")[:PROMPT_HISTORY]
    )
