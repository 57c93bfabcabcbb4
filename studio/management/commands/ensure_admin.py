from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create the first account (a superuser named by STUDIO_ADMIN_USERNAME, 'admin' by "
        "default) when the database has no users."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.exists():
            self.stdout.write("Accounts exist already: sign in with yours.")
            return
        username = settings.STUDIO_ADMIN_USERNAME
        if "@" in username:
            raise CommandError("STUDIO_ADMIN_USERNAME cannot contain @: choose a name.")
        password = os.environ.get("STUDIO_ADMIN_PASSWORD", "").strip()
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            # The same rules as every other password: a weak one is refused.
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                raise CommandError(
                    "STUDIO_ADMIN_PASSWORD is refused: " + " ".join(exc.messages)
                ) from None
        # The post_save signal gives the new user a personal team.
        User.objects.create_superuser(username, email="", password=password)
        self.stdout.write(self.style.SUCCESS("Created the first account."))
        self.stdout.write(f"  username: {username}")
        if generated:
            self.stdout.write(f"  password: {password}")
            self.stdout.write(
                "  (shown once; change it after signing in, or set STUDIO_ADMIN_PASSWORD)"
            )
        else:
            self.stdout.write("  password: the value of STUDIO_ADMIN_PASSWORD")
