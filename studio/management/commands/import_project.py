from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studio.models import Team
from studio.services.archives import ArchiveError, import_project


def find_team(name_or_id: str) -> Team:
    found = list(Team.objects.filter(public_id=name_or_id)) if _is_uuid(name_or_id) else []
    if not found and name_or_id.isdigit():
        found = list(Team.objects.filter(pk=int(name_or_id)))
    if not found:
        found = list(Team.objects.filter(name=name_or_id))
    if not found:
        raise CommandError(f"No team named or numbered {name_or_id!r}.")
    if len(found) > 1:
        raise CommandError(f"Several teams are named {name_or_id!r}: give its public id instead.")
    return found[0]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Command(BaseCommand):
    help = (
        "Import a project archive into a team as a new project. Nothing is sent to any "
        "provider: unfinished jobs arrive failed, and no credits are charged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="The .zip written by export_project.")
        parser.add_argument("--team", required=True, help="The team's name, id or public id.")
        parser.add_argument(
            "--user",
            help="Who imports (credited with the work of people not in the team); "
            "by default the team's first owner.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = find_team(options["team"])
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        else:
            owner = team.memberships.filter(role="owner").order_by("created_at").first()
            if owner is None:
                raise CommandError("The team has no owner: name the importing user with --user.")
            user = owner.user
        try:
            result = import_project(options["archive"], team, user)
        except (ArchiveError, FileNotFoundError, IsADirectoryError) as exc:
            raise CommandError(f"Nothing was imported: {exc}") from None
        closed = result.jobs_closed
        self.stdout.write(
            f"Imported “{result.project.name}” into {team.name} as project "
            f"{result.project.public_id}: {result.files_written} files written, "
            f"{closed} unfinished job{'s' if closed != 1 else ''} marked failed, "
            f"{result.images_reused} images already in the library."
        )
