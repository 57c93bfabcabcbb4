"""How an edit's parameters read in the lineage: "Reshoot · Push forward"."""

from __future__ import annotations

from django import template
from django.utils.text import Truncator

from studio.models import Job, Mode
from studio.providers.base import MOTION_TYPES

register = template.Library()


@register.filter
def edit_params(job: Job | None) -> str:
    """The parameters an extend, reshoot or insert was made with, "" for other jobs."""
    if job is None:
        return ""
    if job.mode == Mode.RESHOOT:
        motion = str((job.params or {}).get("motion_type", ""))
        return MOTION_TYPES.get(motion, motion)
    if job.mode in (Mode.EXTEND, Mode.INSERT) and job.prompt_text:
        return f"“{Truncator(job.prompt_text).chars(48)}”"
    return ""
