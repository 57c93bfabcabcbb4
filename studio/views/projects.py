from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studio.forms.archives import ProjectImportForm
from studio.forms.projects import ProjectForm
from studio.services import teams as team_service
from studio.typing import AuthedRequest
from studio.views.access import (
    current_membership_or_404,
    get_project_for_member,
    require_editor,
)


def home(request: AuthedRequest) -> HttpResponse:
    return redirect("project_list")


def project_list(request: AuthedRequest) -> HttpResponse:
    membership = current_membership_or_404(request)
    show_archived = request.GET.get("archived") == "1"
    form = ProjectForm(request.POST or None)
    if request.method == "POST":
        require_editor(membership)
        if form.is_valid():
            project = team_service.create_project(
                membership.team,
                request.user,
                form.cleaned_data["name"],
            )
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("project_detail", project_id=project.public_id)
    projects = (
        membership.team.projects.filter(archived_at__isnull=not show_archived)
        .annotate(
            video_count=Count("videos", distinct=True),
            active_jobs=Count(
                "jobs",
                filter=Q(jobs__status__in=["draft", "submitting", "queued", "running"]),
                distinct=True,
            ),
        )
        .order_by("-updated_at")
    )
    archived_count = membership.team.projects.filter(archived_at__isnull=False).count()
    return render(
        request,
        "studio/projects.html",
        {
            "projects": projects,
            "form": form,
            "show_archived": show_archived,
            "archived_count": archived_count,
            "import_form": ProjectImportForm(),
        },
    )


def project_detail(request: AuthedRequest, project_id: UUID) -> HttpResponse:
    project, membership = get_project_for_member(request, project_id)
    return render(
        request,
        "studio/project_detail.html",
        {
            "project": project,
            "project_membership": membership,
            "rename_form": ProjectForm(instance=project),
        },
    )


@require_POST
def project_rename(request: AuthedRequest, project_id: UUID) -> HttpResponse:
    project, _ = get_project_for_member(request, project_id, edit=True)
    form = ProjectForm(request.POST, instance=project)
    if form.is_valid():
        team_service.rename_project(project, form.cleaned_data["name"])
        messages.success(request, "Project renamed.")
    else:
        messages.error(request, "Give the project a name.")
    return redirect("project_detail", project_id=project_id)


@require_POST
def project_archive(request: AuthedRequest, project_id: UUID) -> HttpResponse:
    project, _ = get_project_for_member(request, project_id, edit=True)
    team_service.archive_project(project)
    messages.success(request, f"“{project.name}” archived. You can restore it from the archive.")
    return redirect("project_list")


@require_POST
def project_restore(request: AuthedRequest, project_id: UUID) -> HttpResponse:
    project, _ = get_project_for_member(request, project_id, edit=True)
    team_service.restore_project(project)
    messages.success(request, f"“{project.name}” restored.")
    return redirect("project_detail", project_id=project_id)
