from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from studio.services.teams import ensure_personal_team


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_new_user_a_personal_team(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # Users made by sign-up, the admin or createsuperuser all start with a team.
    if created and not kwargs.get("raw"):
        ensure_personal_team(instance)
