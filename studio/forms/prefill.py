"""What the generate form starts from and offers.

Values prefilled from links (recall a prompt, re-use a job's settings, start
from a frame) and the library images its slots offer. The form's rules live in
`studio.forms.generate`; these are the reads around it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from studio.forms.generate import IMAGE_SLOTS, GenerateForm
from studio.models import Mode, Project, ReferenceImage

SLOT_OPTIONS = 100


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def initial_from_query(project: Project, query: Any) -> dict[str, Any]:
    """Prefill the form from links: recall a prompt, a job's settings, or a start frame."""
    initial: dict[str, Any] = {}
    job_id = _uuid(query.get("from_job"))
    if job_id:
        job = project.jobs.filter(public_id=job_id).first()
        if job is not None:
            initial.update(
                mode=job.mode,
                provider=job.provider,
                model=job.model,
                prompt=job.prompt_text,
                aspect_ratio=job.params.get("aspect_ratio"),
                duration_seconds=job.params.get("duration_seconds"),
                seed=job.params.get("seed"),
            )
            if job.prompt_id:
                initial["recalled_prompt"] = job.prompt.public_id  # type: ignore[union-attr]
            slots = {"start": ["start_image"], "end": ["end_image"]}
            slots["ingredient"] = ["ingredient_1", "ingredient_2", "ingredient_3"]
            for job_input in job.inputs.select_related("image"):
                names = slots.get(job_input.role, [])
                if names:
                    initial[names.pop(0)] = job_input.image.public_id
    prompt_id = _uuid(query.get("prompt"))
    if prompt_id:
        prompt = project.prompts.filter(public_id=prompt_id).first()
        if prompt is not None:
            initial["prompt"] = prompt.text
            initial["recalled_prompt"] = prompt.public_id
    if query.get("mode") in (Mode.TEXT2VIDEO, Mode.IMG2VIDEO, Mode.INGREDIENTS2VIDEO):
        initial["mode"] = query["mode"]
    for name in IMAGE_SLOTS:
        short = {"start_image": "start", "end_image": "end"}.get(name, name)
        image_id = _uuid(query.get(short))
        if image_id:
            initial[name] = image_id
    return {k: v for k, v in initial.items() if v is not None}


def slot_images(form: GenerateForm) -> list[ReferenceImage]:
    """The library images offered in the slots: the newest, plus any already chosen."""
    if not form.image_slots:
        return []
    team_images = ReferenceImage.objects.filter(team_id=form.project.team_id)
    images = list(team_images.order_by("-created_at", "-id")[:SLOT_OPTIONS])
    shown = {image.public_id for image in images}
    chosen = {
        found for name in IMAGE_SLOTS if (found := _uuid(str(form[name].value()))) is not None
    } - shown
    if chosen:
        images += list(team_images.filter(public_id__in=chosen))
    return images


def generate_context(form: GenerateForm) -> dict[str, Any]:
    return {"generate_form": form, "slot_images": slot_images(form)}
