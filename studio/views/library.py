"""The team's reference library: upload several images at once, browse, delete."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from studio import presenters
from studio.forms.library import ReferenceUploadForm
from studio.models import Membership
from studio.services import library
from studio.typing import AuthedRequest
from studio.views.access import current_membership_or_404, get_reference_for_member, require_editor

PAGE_SIZE = 48


def _library_context(
    request: AuthedRequest, membership: Membership, form: ReferenceUploadForm
) -> dict[str, object]:
    images = membership.team.reference_images.select_related("source_video").order_by(
        "-created_at", "-id"
    )
    page = Paginator(images, PAGE_SIZE).get_page(request.GET.get("page"))
    return {"form": form, "page": page, "images": page.object_list, "team": membership.team}


def _summary(results: list[library.StoreResult]) -> str:
    """One banner for a whole batch: six images are one upload, not six."""
    if len(results) == 1:
        return results[0].message
    created = sum(1 for result in results if result.created)
    return presenters.upload_summary(created, len(results) - created)


@vary_on_headers("HX-Request")
def library_page(request: AuthedRequest) -> HttpResponse:
    membership = current_membership_or_404(request)
    form = ReferenceUploadForm()
    results: list[library.StoreResult] = []
    if request.method == "POST":
        require_editor(membership)
        form = ReferenceUploadForm(request.POST, request.FILES)
        form.is_valid()
        for upload in form.accepted:
            try:
                results.append(
                    library.store_upload(
                        membership.team, request.user, upload, upload.name or "image"
                    )
                )
            except ValidationError as exc:
                form.add_error("images", f"{upload.name}: {exc.messages[0]}")
        if not request.htmx and not form.errors:
            messages.success(request, _summary(results))
            return redirect("library")
    context = _library_context(request, membership, form)
    context["upload_summary"] = _summary(results) if results else ""
    context["can_edit"] = membership.can_edit
    if request.htmx:
        return render(request, "studio/library.html#library-body", context)
    return render(request, "studio/library.html", context)


@require_POST
def reference_delete(request: AuthedRequest, image_id: UUID) -> HttpResponse:
    image = get_reference_for_member(request, image_id, edit=True)
    try:
        library.delete_reference(image)
    except library.LibraryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{image} removed from the library.")
    return redirect("library")
