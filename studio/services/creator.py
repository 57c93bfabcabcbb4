"""Small state changes of the creator UI: favourites, reports, prompt versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import IntegrityError, transaction

from studio.models import Favourite, Job, Project, Prompt, ReferenceImage, Report, Video
from studio.services import moderation

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def set_favourite(user: User, video: Video, on: bool) -> bool:
    if on:
        try:
            with transaction.atomic():
                Favourite.objects.create(user=user, video=video)
        except IntegrityError:
            pass  # a double click: it is a favourite already
    else:
        Favourite.objects.filter(user=user, video=video).delete()
    return on


def report_video(video: Video, reporter: User, reason: str) -> Report:
    """A member's report; raises `moderation.ModerationError` past the hourly limit."""
    return moderation.file_report(video, reporter, reason)


def remember_prompt(
    project: Project, user: User, text: str, recalled: Prompt | None = None
) -> Prompt:
    """The Prompt row for a submitted text, keeping the link to a recalled one.

    Submitting a recalled prompt unchanged reuses it; editing it makes a new
    version whose parent is the recalled prompt. A fresh text that matches
    the project's latest prompt exactly reuses that one too.
    """
    text = text.strip()
    if recalled is not None and recalled.project_id == project.pk:
        if recalled.text == text:
            return recalled
        return Prompt.objects.create(
            team=project.team, project=project, text=text, parent=recalled, created_by=user
        )
    latest = project.prompts.filter(text=text).order_by("-created_at").first()
    if latest is not None:
        return latest
    return Prompt.objects.create(team=project.team, project=project, text=text, created_by=user)


def submit_generation(
    project: Project,
    user: User,
    *,
    provider: str,
    model: str,
    mode: str,
    prompt_text: str,
    recalled: Prompt | None,
    params: dict[str, Any],
    images: Sequence[tuple[ReferenceImage, str]],
    idempotency_key: UUID,
) -> Job:
    """Remember the prompt (as a version of a recalled one) and create the job.

    One transaction: when the job service refuses the request, no prompt row
    is left behind.
    """
    from studio.jobs.create import JobRequestError, create_job

    existing = Job.objects.filter(team=project.team, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing  # a re-posted form: do not even touch the prompts
    # Before the transaction: a blocked prompt's record must outlive the refusal.
    refusals = moderation.submit_refusals(project.team, user, prompt_text, images=images)
    if refusals:
        raise JobRequestError(refusals)
    with transaction.atomic():
        prompt = remember_prompt(project, user, prompt_text, recalled)
        return create_job(
            project=project,
            user=user,
            provider=provider,
            model=model,
            mode=mode,
            prompt_text=prompt_text,
            prompt=prompt,
            params=params,
            images=images,
            idempotency_key=idempotency_key,
        )
