from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.services.backups import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up an embedded Studio (SQLite database and media folder) into a new folder. "
        "Safe while Studio runs. Scaled mode: see docs/operations.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", help="A new or empty folder for the backup.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = backup(Path(options["folder"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Backed up the database ({summary.database_bytes} bytes) and {summary.media_files} "
            f"media files ({summary.media_bytes} bytes) to {summary.path}"
        )
