"""The generate form on the project page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from studio.forms.generate import IMAGE_SLOTS, GenerateForm
from studio.forms.projects import ProjectForm
from studio.models import Job, Mode, Project, Prompt, ReferenceImage
from studio.services import creator
from studio.services.jobs import JobRequestError
from studio.typing import AuthedRequest
from studio.views.access import get_project_for_member
from studio.views.jobs import card_context

SLOT_OPTIONS = 100
PROMPT_HISTORY = 12


def recent_prompts(project: Project) -> list[Prompt]:
    return list(
        Prompt.objects.filter(project=project)
        .select_related("parent")
        .order_by("-created_at", "-id")[:PROMPT_HISTORY]
    )


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


def _keep_choices(form: GenerateForm, project: Project) -> GenerateForm:
    """A fresh form (new idempotency key) that keeps what the creator chose."""
    keep = {
        k: v
        for k, v in form.cleaned_data.items()
        if k not in ("idempotency_key", "images", "recalled_prompt")
    }
    for name in IMAGE_SLOTS:
        image = keep.get(name)
        keep[name] = image.public_id if image is not None else None
    return GenerateForm(project, initial=keep, caps=form.caps)


@require_POST
@vary_on_headers("HX-Request")
def generate(request: AuthedRequest, project_id: UUID) -> HttpResponse:
    """Submit the form, or (with `refresh`) show it again for the choices made so far."""
    project, membership = get_project_for_member(request, project_id, edit=True)
    context: dict[str, Any] = {"project": project, "project_membership": membership}
    if request.POST.get("refresh"):
        context["generate_form"] = GenerateForm.refreshed(project, request.POST)
        return _render(request, context)
    form = GenerateForm(project, request.POST)
    job: Job | None = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = creator.submit_generation(
                project,
                request.user,
                provider=data["provider"],
                model=data["model"],
                mode=data["mode"],
                prompt_text=data["prompt"],
                recalled=data.get("recalled_prompt"),
                params=form.job_params(),
                images=data["images"],
                idempotency_key=data["idempotency_key"],
            )
        except JobRequestError as exc:
            form.add_service_errors(exc.errors)
    if job is not None and not request.htmx:
        messages.success(request, "Submitted. Your video appears in the queue.")
        return redirect(reverse("project_detail", args=[project.public_id]) + "#queue")
    if job is not None:
        # Keep the creator's choices for the next shot, plus the new card (OOB).
        context["generate_form"] = _keep_choices(form, project)
        context["new_job"] = card_context(job, can_edit=True)
        context["submitted"] = True
        context["prompts"] = recent_prompts(project)
        context["can_edit"] = True
    else:
        context["generate_form"] = form
    return _render(request, context)


def _render(request: AuthedRequest, context: dict[str, Any]) -> HttpResponse:
    """The form alone for htmx, the whole project page otherwise."""
    if request.htmx:
        context.update(generate_context(context["generate_form"]))
        return render(request, "studio/partials/generate.html#generate-form", context)
    context["rename_form"] = ProjectForm(instance=context["project"])
    return render(request, "studio/project_detail.html", context)
