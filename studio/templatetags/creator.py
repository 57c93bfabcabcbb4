"""Template helpers of the creator UI.

`project_panel` puts the generate form, the project's queue, its prompt
history and its latest videos on the project page, whose view belongs to the
projects module: the page stays one template, the panel one partial.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import template

from studio import presenters
from studio.forms.generate import GenerateForm
from studio.forms.prefill import generate_context, initial_from_query
from studio.models import Job, Project
from studio.services import gallery as gallery_service

register = template.Library()

PANEL_VIDEOS = 8


register.filter(presenters.model_label)
register.filter(presenters.job_title)
register.filter(presenters.elapsed)
register.filter(presenters.cost_words)
register.filter(presenters.job_seed)


@register.filter
def provider_label(job: Job) -> str:
    return presenters.provider_label(job.provider)


@register.simple_tag
def uuid_value() -> str:
    """A fresh idempotency key for a button that creates a job."""
    return str(uuid.uuid4())


@register.inclusion_tag("studio/partials/generate.html#generate-form", takes_context=True)
def generate_panel(context: template.Context) -> dict[str, Any]:
    """The generate form; a bound form with errors comes from the view's context."""
    project: Project = context["project"]
    form = context.get("generate_form")
    if form is None:
        form = GenerateForm(project, initial=initial_from_query(project, context["request"].GET))
    return {
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
        "project": project,
        "submitted": context.get("submitted", False),
        "new_job": context.get("new_job"),
        **generate_context(form),
    }


@register.inclusion_tag("studio/partials/project_side.html", takes_context=True)
def project_side(context: template.Context) -> dict[str, Any]:
    """The project's queue and prompt history."""
    project: Project = context["project"]
    can_edit = context["project_membership"].can_edit
    return {
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
        "project": project,
        "can_edit": can_edit,
        "queue_cards": presenters.cards(gallery_service.project_queue(project), can_edit=can_edit),
        "prompts": gallery_service.recent_prompts(project),
        "grid": presenters.PROJECT_GRID,
    }


@register.inclusion_tag("studio/partials/project_videos.html", takes_context=True)
def project_videos(context: template.Context) -> dict[str, Any]:
    project: Project = context["project"]
    request = context["request"]
    jobs = gallery_service.gallery_jobs(
        project.team,
        request.user,
        gallery_service.GalleryQuery(),
        project=project,
        include_hidden=request.user.is_staff,
    )
    items = list(jobs[:PANEL_VIDEOS])
    presenters.label_tiles(items)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "project": project,
        "items": items,
        "grid": presenters.PROJECT_GRID,
    }
