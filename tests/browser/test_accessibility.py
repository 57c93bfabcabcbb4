"""Every page of the creator loop, the editors and the scene builder pass axe-core's
check in a real browser, light and dark: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from studio.models import Status
from studio.services import library, scenes
from tests import factories
from tests.factories import image_bytes, make_job, make_output, upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = {"serious", "critical"}


def _pages(user: Any) -> list[tuple[str, str]]:
    """(name, path) of each page, with enough in it that every part shows."""
    team = factories.personal_team(user)
    project = factories.make_project(team, "Harbour film", user)
    library.store_upload(
        team, user, upload("ref.png", image_bytes(size=(320, 180))).file, "Harbour.png"
    )
    video = make_output(project, user, prompt_text="Boats at dawn", real=True, size=(320, 180))
    second = make_output(project, user, prompt_text="Gulls over the pier", real=True)
    running = make_job(project, user, status=Status.RUNNING, progress=40, prompt_text="Fog")
    make_job(
        project,
        user,
        status=Status.FAILED,
        fail_reason="content_filtered",
        error_message="The prompt was refused.",
        prompt_text="Refused",
    )
    scene = scenes.create_scene(project, user, "Opening")
    scenes.add_shot(scene, video)
    scenes.add_shot(scene, second)
    return [
        ("projects", "/projects/"),
        ("project", f"/projects/{project.public_id}/"),
        ("library", "/library/"),
        ("gallery", "/gallery/"),
        ("queue", "/queue/"),
        ("job", f"/jobs/{running.public_id}/"),
        ("video", f"/videos/{video.public_id}/"),
        ("painter", f"/videos/{video.public_id}/remove/"),
        ("insert painter", f"/videos/{video.public_id}/insert/"),
        ("scene", f"/scenes/{scene.public_id}/"),
        ("teams", "/teams/"),
        ("team", f"/teams/{team.public_id}/"),
        ("ledger", f"/teams/{team.public_id}/ledger/"),
        ("review", "/review/"),
        ("audit", "/audit/"),
    ]


def _blocking(page: Page) -> list[str]:
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = "; ".join(", ".join(node["target"]) for node in violation["nodes"][:5])
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_the_accessibility_check(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path, scheme: str
) -> None:
    page, user = signed_in_page
    # Staff see every page, the review queue included.
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    page.emulate_media(color_scheme=scheme)
    problems = {}
    named = _pages(user)
    for name, path in named:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, (name, path)
        page.wait_for_load_state("networkidle")
        found = _blocking(page)
        if found:
            problems[name] = found
            page.screenshot(path=str(artifacts_dir / f"a11y-{scheme}-{name}.png"), full_page=True)
    # The states a page only reaches through a click: the image picker, a shot's Extend.
    project_path = dict(named)["project"]
    page.goto(f"{live_server.url}{project_path}")
    page.get_by_text("Ingredients to video", exact=True).click()
    page.get_by_role("button", name="Choose the ingredient 1 from the library").click()
    page.get_by_role("dialog").wait_for()
    if found := _blocking(page):
        problems["image picker"] = found
    page.goto(f"{live_server.url}{dict(named)['scene']}")
    page.get_by_text("Extend this shot").first.click()
    page.get_by_text("Jump to the next shot").first.click()
    if found := _blocking(page):
        problems["scene, details open"] = found
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())
