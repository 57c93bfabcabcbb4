"""How a job is shown, in one place: card words, labels, links and what a viewer may do.

Job cards (queue, project page, job page) and gallery tiles both come from
here, so a job has one label and one title everywhere, and templates test
`can_*` flags instead of comparing raw status strings. Everything here reads
the database only; nothing asks a provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.text import Truncator

from studio.jobs import actions as job_actions
from studio.models import FailReason, Job, Mode, Status, Video, VideoKind
from studio.providers import registry

CARD_LINKS = ("job_detail", "job_cancel", "job_retry", "job_resubmit", "job_mark_failed")
CARD_VIDEO_LINKS = ("video_detail", "media_thumbnail")
TILE_VIDEO_LINKS = ("video_detail", "media_video", "media_thumbnail", "video_favourite")
WAITING = (Status.DRAFT, Status.SUBMITTING, Status.QUEUED)
# The project page's grid of latest videos: the page's poller puts the tile of
# a video that just finished first in it.
PROJECT_GRID = "project-video-grid"


# Words


def credit_words(credits: int) -> str:
    """ "1 credit", "40 credits": the one way a cost is written."""
    return f"{credits} credit{pluralize(credits)}"


def cost_words(job: Job) -> str:
    """What a job's card and page say it cost: its credits, or "not charged" once
    they were released (a failed or cancelled job is never charged: `jobs.ledger`)."""
    if job.cost_credits and job.status in (Status.FAILED, Status.CANCELLED):
        return "not charged"
    return credit_words(job.cost_credits)


def label(provider: str, model: str) -> str:
    """A model as people read it: its name and the gateway it runs through
    (one model can be reachable through several gateways)."""
    spec = registry.model_spec(provider, model)
    if spec is None:
        return model
    return f"{spec.label} · {provider_label(provider)}"


def model_label(job: Job) -> str:
    return label(job.provider, job.model)


def job_subtitle(job: Job) -> str:
    """ "Mode · model · gateway", without saying the mode twice when the model is
    named after it (the gateway's "Object removal" model)."""
    model = model_label(job)
    mode = job.get_mode_display()
    if model.split(" · ", 1)[0] == mode:
        return model
    return f"{mode} · {model}"


def fps_label(video: Video) -> str:
    """The frame rate as asked for: a GIF's frame delays are whole hundredths of a
    second, so 12 fps is stored as 12.5 and probes as such."""
    job = video.job
    if video.kind == VideoKind.GIF and job is not None and job.params.get("fps"):
        return f"{int(job.params['fps'])} fps"
    return f"{video.fps:.0f} fps" if video.fps else ""


def upload_summary(created: int, known: int) -> str:
    """One banner for a batch of uploads, however many images it held."""
    parts = []
    if created:
        parts.append(f"{created} image{pluralize(created)} added to your library")
    if known:
        verb = "was" if known == 1 else "were"
        parts.append(f"{known} {verb} already there")
    return (", ".join(parts) or "Nothing uploaded") + "."


def provider_label(provider: str) -> str:
    try:
        return registry.provider_class(provider).label
    except (KeyError, ImportError):
        return provider


def job_seed(job: Job) -> int | None:
    """The seed that reached the model, or None: an older gateway job stored one the
    gateway never received, and showing it would promise a reproducible re-run."""
    seed = job.params.get("seed")
    try:
        takes_seed = registry.provider_class(job.provider).takes_seed
    except (KeyError, ImportError):
        return None
    return seed if takes_seed and isinstance(seed, int) else None


def model_choices() -> list[tuple[str, str]]:
    """('provider:model', label) for every enabled model, by label: the gallery's filter."""
    choices = [
        (f"{provider.name}:{spec.name}", label(provider.name, spec.name))
        for provider in registry.enabled_providers()
        for spec in provider.models()
    ]
    return sorted(choices, key=lambda choice: choice[1])


def job_title(job: Job) -> str:
    """The prompt, or for an edit (upscale, GIF, removal) what it was made from."""
    if job.prompt_text:
        return job.prompt_text
    source = job.source_video
    if source is not None and source.job is not None and source.job.prompt_text:
        return f"{job.get_mode_display()} of “{source.job.prompt_text}”"
    return job.get_mode_display()


def elapsed(job: Job) -> str:
    seconds = int(job_actions.elapsed_seconds(job))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# Cards


def queue_positions(jobs: Iterable[Job]) -> dict[int, int]:
    """Job pk -> 1-based place among its team's jobs that have not started, in one query."""
    return queue_places({job.pk: job.team_id for job in jobs if job.status in WAITING})


def queue_places(waiting: dict[int, int]) -> dict[int, int]:
    """The same for waiting jobs given as {pk: team id}."""
    if not waiting:
        return {}
    queued = (
        Job.objects.filter(team_id__in=set(waiting.values()), status__in=WAITING)
        .order_by("team_id", "created_at", "id")
        .values_list("team_id", "id")
    )
    positions: dict[int, int] = {}
    counts: dict[int, int] = {}
    for team_id, pk in queued:
        counts[team_id] = counts.get(team_id, 0) + 1
        if pk in waiting:
            positions[pk] = counts[team_id]
    return positions


def version(
    status: str, progress: int | None, updated_at: datetime, position: int | None, can_edit: bool
) -> str:
    """Everything a card shows except the elapsed time, which ticks in the browser,
    in 8 characters: the page's poller sends it back for every running card in
    its query string, and an unchanged card is not sent again."""
    parts = (status, progress, updated_at.timestamp(), position, can_edit)
    return hashlib.blake2b(repr(parts).encode(), digest_size=4).hexdigest()


def card_version(job: Job, position: int | None, can_edit: bool) -> str:
    return version(job.status, job.progress, job.updated_at, position, can_edit)


def _links(names: Iterable[str], public_id: Any) -> dict[str, str]:
    return {name: reverse(name, args=[public_id]) for name in names}


def card_context(job: Job, *, can_edit: bool, position: int | None = None) -> dict[str, Any]:
    """What one job card shows and offers.

    `position` comes from `queue_positions` when many cards are shown at once;
    without it a waiting job's place is counted here.
    """
    if position is None and job.status in WAITING:
        position = queue_positions([job]).get(job.pk)
    status = job.status
    video = getattr(job, "video", None)
    urls = _links(CARD_LINKS, job.public_id)
    if video is not None:
        urls.update(_links(CARD_VIDEO_LINKS, video.public_id))
    title = job_title(job)
    polls = not job.is_terminal
    return {
        "job": job,
        "video": video,
        "urls": urls,
        "version": card_version(job, position, can_edit),
        "polls": polls,
        "position": position,
        "status_label": Status(status).label,
        "mode_label": Mode(job.mode).label,
        "title": title,
        "short_title": Truncator(title).chars(160),
        "model_label": model_label(job),
        "elapsed": elapsed(job),
        "started": int(job.created_at.timestamp()),
        "creator": job.created_by.get_username() if job.created_by else "",
        "credits": cost_words(job) if job.cost_credits else "",
        "fail_label": FailReason(job.fail_reason).label if job.fail_reason else "",
        # What the card says
        "thumb_icon": "!" if status == Status.FAILED else "×",
        "working": polls and job.progress is None and status == Status.RUNNING,
        "shows_error": status == Status.FAILED
        or (status == Status.CANCELLED and job.error_message),
        "cancelled": status == Status.CANCELLED,
        "needs_attention": status == Status.NEEDS_ATTENTION,
        "shows_note": status == Status.DRAFT and bool(job.error_message),
        # What the viewer may do
        "can_edit": can_edit,
        "can_cancel": can_edit and job_actions.can_cancel(job),
        "can_retry": can_edit and job_actions.can_retry(job),
        "can_resubmit": can_edit and status == Status.NEEDS_ATTENTION,
        "can_mark_failed": can_edit and status == Status.NEEDS_ATTENTION,
    }


def cards(jobs: list[Job], *, can_edit: bool) -> list[dict[str, Any]]:
    positions = queue_positions(jobs)
    return [card_context(job, can_edit=can_edit, position=positions.get(job.pk)) for job in jobs]


# Gallery tiles


def label_tiles(jobs: Iterable[Any]) -> None:
    """Prepare gallery tiles: the job's label and the tile's links."""
    for job in jobs:
        job.model_label = model_label(job)
        video = job.video if hasattr(job, "video") else None
        job.urls = (
            _links(TILE_VIDEO_LINKS, video.public_id)
            if video is not None
            else _links(["job_detail"], job.public_id)
        )
