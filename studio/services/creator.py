"""Small state changes of the creator UI: favourites, reports, prompt versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from studio.models import Favourite, Project, Prompt, Report, Video

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
    return Report.objects.create(video=video, reporter=reporter, reason=reason.strip())


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
