from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.services.backups import BackupError, restore, verify


class Command(BaseCommand):
    help = (
        "Restore an embedded Studio from a folder written by `manage.py backup`: the "
        "database and the media folder become the backup's. Stop Studio first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", help="The backup folder.")
        parser.add_argument(
            "--check", action="store_true", help="Only check the backup against its sha256s."
        )
        parser.add_argument(
            "--force", action="store_true", help="Restore even though the worker seems to run."
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["folder"])
        try:
            if options["check"]:
                info = verify(folder)
                self.stdout.write(
                    f"The backup of {info['created_at']} is whole: the database and "
                    f"{len(info['media'])} media files match their sha256."
                )
                return
            if not options["yes"] and options.get("interactive", True):
                answer = input(
                    "This replaces the database and the media folder with the backup's. "
                    "Type 'yes' to go on: "
                )
                if answer.strip().lower() != "yes":
                    raise CommandError("Nothing was restored.")
            summary = restore(folder, force=options["force"])
        except BackupError as exc:
            raise CommandError(f"Nothing was restored: {exc}") from None
        self.stdout.write(
            f"Restored the database and {summary.media_files} media files from {summary.path}."
        )
