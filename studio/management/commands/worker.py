from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the django-q2 cluster with Studio's sweeper started at once."

    def handle(self, *args: Any, **options: Any) -> None:
        from studio.services.schedules import ensure_schedules
        from studio.tasks import enqueue_sweeper

        ensure_schedules()
        # The scheduler's first wake-up comes ~30 s after start; the sweeper
        # should not wait for it (a second one exits at once: it is leased).
        enqueue_sweeper()
        call_command("qcluster")
