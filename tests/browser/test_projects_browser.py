from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_creator_signs_in_creates_a_project_and_sees_it_listed(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, _user = signed_in_page
    expect(page.get_by_text("No projects yet")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "projects-empty.png"), full_page=True)

    page.get_by_label("Project name").fill("Northern lights teaser")
    page.get_by_role("button", name="New project").click()
    expect(page.get_by_role("heading", name="Northern lights teaser")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "project-page.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(page.get_by_role("heading", name="Northern lights teaser")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "projects-list.png"), full_page=True)


def test_sign_in_page_looks_finished(page: Page, live_server: Any, artifacts_dir: Path) -> None:
    page.goto(f"{live_server.url}/projects/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/projects/")
    expect(page.get_by_role("heading", name="Sign in to Studio")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "sign-in.png"), full_page=True)
