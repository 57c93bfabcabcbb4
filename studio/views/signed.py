from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from studio.services.signing import image_for_token


@login_not_required
@require_GET
def signed_reference(request: HttpRequest, token: str) -> FileResponse:
    image = image_for_token(token)
    if image is None:
        raise Http404("This link is invalid or has expired.")
    response = FileResponse(image.file.open("rb"), content_type=image.content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response
