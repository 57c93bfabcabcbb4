"""How jobs are named on screen: shared by the job cards and the templates' filters."""

from __future__ import annotations

from studio.jobs import actions as job_actions
from studio.models import Job
from studio.providers import registry


def model_label(job: Job) -> str:
    spec = registry.model_spec(job.provider, job.model)
    return spec.label if spec else job.model


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
