from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from studio.models import Project, Role, Team
from tests import factories
from tests.s3_fixture import s3, s3_server  # noqa: F401
from tests.sandbox_fixture import sandbox, sandbox_server  # noqa: F401

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# calls from the live server fixtures are safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-results"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@dataclass
class Cast:
    """A team with one member of each role, and an outsider with a team of their own."""

    team: Team
    project: Project
    owner: User
    editor: User
    viewer: User
    outsider: User
    outsider_project: Project

    def client_for(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def cast(db: Any) -> Cast:
    owner = factories.make_user("olivia")
    team = factories.make_team(owner, name="Acme Films")
    editor = factories.add_member(team, factories.make_user("eddie"), Role.EDITOR)
    viewer = factories.add_member(team, factories.make_user("vera"), Role.VIEWER)
    outsider = factories.make_user("oscar")
    outsider_project = factories.make_project(factories.personal_team(outsider), "Oscar's secret")
    project = factories.make_project(team, "Launch film", owner)
    return Cast(team, project, owner, editor, viewer, outsider, outsider_project)


@pytest.fixture
def artifacts_dir() -> Iterator[Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    yield ARTIFACTS


# Browser tests: Debian's Chromium, never a downloaded browser.
CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
