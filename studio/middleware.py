from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from studio.services.teams import current_membership


class CurrentTeamMiddleware:
    """Puts the signed-in user's current membership on `request.membership`.

    The current team is remembered in the session; when it is missing or the
    user has left that team, the user's first team is taken.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = SimpleLazyObject(lambda: current_membership(request))  # type: ignore[attr-defined]
        return self.get_response(request)


class RequestBodyLimitMiddleware:
    """Refuses a request whose declared body exceeds `STUDIO_MAX_REQUEST_BYTES`.

    Django's own limits count what has been read; this looks at the
    Content-Length header alone, so a 150 MB upload is answered at once
    instead of being received in full first. Without a Content-Length Django
    reads no body at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django treats it the same way: no body
        limit: int = settings.STUDIO_MAX_REQUEST_BYTES
        if declared > limit:
            response = HttpResponse(
                f"This request is too large ({declared // 2**20} MB): Studio accepts up to "
                f"{limit // 2**20} MB at once. Send fewer or smaller files.",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
            return response
        return self.get_response(request)
