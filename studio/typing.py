from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails

    from studio.models import Membership


class AuthedRequest(HttpRequest):
    """A request behind LoginRequiredMiddleware, as the views see it."""

    user: User
    membership: Membership | None
    htmx: HtmxDetails
