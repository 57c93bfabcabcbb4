"""The signed reference-image link a gateway fetches (no sign-in; see services/signing.py).

Served like any other media: from disk, or with media on S3 as a presigned
redirect or a stream, as `STUDIO_S3_DELIVERY` says (gateways follow redirects).
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from studio.services.signing import image_for_token
from studio.views.delivery import StoredFile, serve

MAX_AGE = 300


@login_not_required
@require_safe
def signed_reference(request: HttpRequest, token: str) -> HttpResponseBase:
    image = image_for_token(token)
    if image is None or not image.file.name:
        raise Http404("This link is invalid or has expired.")
    name = image.file.name
    stored = StoredFile(
        storage=image.file.storage,
        name=name,
        content_type=image.content_type,
        etag=hashlib.sha256(name.encode()).hexdigest()[:32],
        last_modified=image.created_at,
    )
    return serve(request, stored, max_age=MAX_AGE)
