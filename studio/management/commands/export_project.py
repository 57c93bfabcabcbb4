from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.models import Project
from studio.services import audit
from studio.services.archives import ArchiveError, export_project


class Command(BaseCommand):
    help = "Export one project (its media, prompts, jobs, masks, scenes, lineage) as a zip."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="The project's public id (a UUID).")
        parser.add_argument("path", help="Where to write the archive (a .zip file).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            project = Project.objects.select_related("team").get(public_id=options["project"])
        except (Project.DoesNotExist, ValidationError):
            raise CommandError(f"No project with the public id {options['project']}.") from None
        dest = Path(options["path"])
        # Written beside the destination and renamed, so a failed export leaves no half file.
        fd, tmp = tempfile.mkstemp(dir=dest.parent or ".", prefix=".export-", suffix=".zip")
        try:
            with os.fdopen(fd, "w+b") as out:
                manifest = export_project(project, out)
            os.replace(tmp, dest)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        audit.record(None, "project.exported", project, via="command")
        self.stdout.write(
            f"Exported “{project.name}”: {len(manifest['jobs'])} jobs, "
            f"{len(manifest['videos'])} videos, {len(manifest['files'])} files "
            f"({dest.stat().st_size} bytes) to {dest}"
        )
