"""The audit trail page: owners read their teams' events, staff read everything.

Read-only by construction: this module has no POST view, and the model refuses
to save an existing row.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from studio.forms.moderation import AuditFilterForm
from studio.models import Role, Team
from studio.services import audit
from studio.typing import AuthedRequest

PAGE_SIZE = 50


@require_safe
def audit_log(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    teams: list[Team] | None = None
    if not request.user.is_staff:
        teams = list(
            Team.objects.filter(memberships__user=request.user, memberships__role=Role.OWNER)
        )
        if not teams:
            raise PermissionDenied("Only a team's owners can read its audit trail.")
    form = AuditFilterForm(request.GET)
    flt = audit.AuditFilter()
    if form.is_valid():
        data = form.cleaned_data
        flt = audit.AuditFilter(
            action=data["action"].strip(),
            actor=data["actor"].strip(),
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
    events = audit.events_for(teams, flt)
    if request.GET.get("format") == "csv" and form.is_valid():
        response = StreamingHttpResponse(
            audit.to_csv(events.iterator()), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="studio-audit-{stamp}.csv"'
        return response
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "studio/audit.html",
        {
            "form": form,
            "page": page,
            "events": page.object_list,
            "teams": teams,
            "query": query.urlencode(),
        },
    )
