"""The mask painter in Debian's Chromium: paint, erase, undo, invert, send; and its speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.masks import builders

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_painter(page: Page, live_server: Any, user: Any, **video: Any) -> Any:
    project = factories.make_project(factories.personal_team(user), "Beach film", user)
    clip = builders.make_video(project, user, **video)
    page.goto(f"{live_server.url}/videos/{clip.public_id}/remove/")
    page.wait_for_function("document.querySelector('[data-video]').readyState >= 2")
    return clip


def test_scratch(signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path) -> None:
    page, user = signed_in_page
    page.set_viewport_size({"width": 1400, "height": 900})
    _open_painter(page, live_server, user)
    page.screenshot(path=str(artifacts_dir / "painter-empty.png"), full_page=True)
    box = page.locator("[data-paint]").bounding_box()
    assert box
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + 200, steps=20)
    page.mouse.up()
    page.screenshot(path=str(artifacts_dir / "painter-painted.png"), full_page=True)
    st = page.evaluate(
        """() => { const c=document.querySelector('[data-cursor]'); const cs=getComputedStyle(c); return [c.className, c.style.cssText, cs.opacity, cs.width, JSON.stringify(c.getBoundingClientRect())]; }"""
    )
    print("CURSOR", st)

    page.get_by_role("button", name="What the provider sees").click()
    page.screenshot(path=str(artifacts_dir / "painter-preview.png"), full_page=True)
    expect(page.locator("[data-status]")).to_contain_text("marked")
