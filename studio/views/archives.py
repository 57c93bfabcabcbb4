"""Project archives on the web: editors download one, owners import one into their team.

The archive is written to a temporary file and streamed from it, never built in
memory; the file goes when the response is closed. Archives larger than
`STUDIO_MAX_REQUEST_BYTES` are imported with `manage.py import_project`.
"""

from __future__ import annotations

import tempfile
from uuid import UUID

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from studio.forms.archives import ProjectImportForm
from studio.services import archives, audit
from studio.typing import AuthedRequest
from studio.views.access import get_project_for_member, get_team_membership, require_owner


@require_POST
def project_export(request: AuthedRequest, project_id: UUID) -> HttpResponseBase:
    project, _ = get_project_for_member(request, project_id, edit=True)
    # Handed to the response, which closes (and so deletes) it once it is sent.
    out = tempfile.TemporaryFile(prefix="studio-export-")  # noqa: SIM115
    try:
        manifest = archives.export_project(project, out, request.user)
    except archives.ArchiveError as exc:
        out.close()
        messages.error(request, str(exc))
        return redirect("project_detail", project_id=project_id)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    audit.record(request, "project.exported", project, files=len(manifest["files"]))
    name = f"{slugify(project.name) or 'project'}-{timezone.now():%Y%m%d-%H%M}.zip"
    return FileResponse(out, as_attachment=True, filename=name, content_type="application/zip")


@require_POST
def project_import(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    membership = get_team_membership(request, team_id)
    require_owner(membership)
    form = ProjectImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("archive", [])))
        return redirect("project_list")
    upload = form.cleaned_data["archive"]
    try:
        result = archives.import_project(upload, membership.team, request.user)
    except archives.ArchiveError as exc:
        messages.error(request, f"Nothing was imported: {exc}")
        return redirect("project_list")
    closed = result.jobs_closed
    note = f" {closed} unfinished job{'s' if closed != 1 else ''} marked failed." if closed else ""
    messages.success(
        request, f"“{result.project.name}” imported into {membership.team.name}.{note}"
    )
    return redirect("project_detail", project_id=result.project.public_id)
