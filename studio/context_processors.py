from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from studio.services.teams import pending_invitations


def studio(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"signup_enabled": settings.STUDIO_SIGNUP}
    return {
        "signup_enabled": settings.STUDIO_SIGNUP,
        "membership": membership if membership else None,
        "current_team": membership.team if membership else None,
        "user_memberships": user.memberships.select_related("team").order_by("team__name"),
        # Called by the template only where the nav shows it (one count query).
        "pending_invitation_count": lambda: pending_invitations(user).count(),
    }
