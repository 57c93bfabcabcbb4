"""Galleries per team and per project: filters, search, favourites, keyset pages."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from studio import presenters
from studio.forms.gallery import GalleryFilterForm
from studio.models import Membership, Project
from studio.services import gallery as gallery_service
from studio.typing import AuthedRequest
from studio.views.access import current_membership_or_404, get_project_for_member


def _gallery(
    request: AuthedRequest, membership: Membership, project: Project | None
) -> HttpResponse:
    team = membership.team
    creators = list(
        team.memberships.order_by("user__username").values_list("user__username", flat=True)
    )
    projects = None
    if project is None:
        projects = [
            (str(public_id), name)
            for public_id, name in team.projects.order_by("name").values_list("public_id", "name")
        ]
    form = GalleryFilterForm(
        request.GET or None,
        models=presenters.model_choices(),
        creators=creators,
        projects=projects,
    )
    query = gallery_service.GalleryQuery.from_cleaned(form.filters() if request.GET else {})
    jobs = gallery_service.gallery_jobs(
        team, request.user, query, project=project, include_hidden=request.user.is_staff
    )
    page = gallery_service.gallery_page(jobs, query.after)
    presenters.label_tiles(page.items)
    context = {
        "form": form,
        "page": page,
        "project": project,
        "team": team,
        "can_edit": membership.can_edit,
        "filtered": form.is_filtered if request.GET else False,
        "continued": query.after is not None,
        "gallery_url": request.path,
    }
    if request.htmx:
        # "Load more" appends tiles; the filter form swaps the whole grid.
        partial = "page" if query.after else "results"
        return render(request, f"studio/gallery.html#{partial}", context)
    return render(request, "studio/gallery.html", context)


@require_safe
@vary_on_headers("HX-Request")
def team_gallery(request: AuthedRequest) -> HttpResponse:
    return _gallery(request, current_membership_or_404(request), None)


@require_safe
@vary_on_headers("HX-Request")
def project_gallery(request: AuthedRequest, project_id: UUID) -> HttpResponse:
    project, membership = get_project_for_member(request, project_id)
    return _gallery(request, membership, project)
