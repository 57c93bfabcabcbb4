from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from studio.services import audit
from studio.services.teams import ensure_personal_team


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_user_a_personal_team(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # Users made by sign-up, the admin or createsuperuser all start with a team.
    if created and not kwargs.get("raw"):
        ensure_personal_team(instance)


@receiver(user_login_failed)
def audit_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # The credentials come cleansed (no password); the name tried is what matters.
    username = str(credentials.get("username", ""))[:150]
    audit.record(request, "signin.failed", None, username=username)


@receiver(user_locked_out)
def audit_sign_in_lockout(
    sender: Any, request: Any = None, username: Any = None, **kwargs: Any
) -> None:
    # django-axes locked this account or address after repeated failures.
    audit.record(request, "signin.lockout", None, username=str(username or "")[:150])
