"""The generate form on the project page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from studio.forms.generate import IMAGE_SLOTS, GenerateForm
from studio.forms.library import ReferenceUploadForm
from studio.forms.prefill import generate_context
from studio.forms.projects import ProjectForm
from studio.jobs.create import JobRequestError
from studio.models import Job, Project
from studio.presenters import card_context
from studio.services import creator, library
from studio.services import gallery as gallery_service
from studio.typing import AuthedRequest
from studio.views.access import get_project_for_member


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
    if request.POST.get("slot_upload"):
        context["generate_form"] = _slot_upload(request, project)
        return _render(request, context)
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
        context["prompts"] = gallery_service.recent_prompts(project)
        context["can_edit"] = True
    else:
        context["generate_form"] = form
    return _render(request, context)


def _slot_upload(request: AuthedRequest, project: Project) -> GenerateForm:
    """An image dropped or pasted into a slot: into the team's library with the
    library's own checks, then the form again with the slot holding it."""
    slot = request.POST["slot_upload"]
    data = request.POST.dict()
    upload = ReferenceUploadForm(request.POST, request.FILES)
    note = error = ""
    if slot not in IMAGE_SLOTS:
        error = "Drop the image onto one of the image slots."
    elif not upload.is_valid() or len(upload.accepted) != 1:
        found = [m for field_errors in upload.errors.values() for m in field_errors]
        error = str(found[0]) if found else "Drop one image at a time."
    else:
        file = upload.accepted[0]
        try:
            stored = library.store_upload(project.team, request.user, file, file.name or "image")
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            data[slot] = str(stored.image.public_id)
            note = stored.message
    form = GenerateForm.refreshed(project, data)
    if error:
        form.upload_errors[slot] = error
    elif note:
        form.upload_notes[slot] = note
    return form


def _render(request: AuthedRequest, context: dict[str, Any]) -> HttpResponse:
    """The form alone for htmx, the whole project page otherwise."""
    if request.htmx:
        context.update(generate_context(context["generate_form"]))
        return render(request, "studio/partials/generate.html#generate-form", context)
    context["rename_form"] = ProjectForm(instance=context["project"])
    return render(request, "studio/project_detail.html", context)
