from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first account (superuser 'admin') when the database has no users."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.exists():
            self.stdout.write("Accounts exist already: sign in with yours.")
            return
        password = os.environ.get("STUDIO_ADMIN_PASSWORD", "").strip()
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        # The post_save signal gives the new user a personal team.
        User.objects.create_superuser("admin", email="", password=password)
        self.stdout.write(self.style.SUCCESS("Created the first account."))
        self.stdout.write("  username: admin")
        if generated:
            self.stdout.write(f"  password: {password}")
            self.stdout.write(
                "  (shown once; change it after signing in, or set STUDIO_ADMIN_PASSWORD)"
            )
        else:
            self.stdout.write("  password: the value of STUDIO_ADMIN_PASSWORD")
