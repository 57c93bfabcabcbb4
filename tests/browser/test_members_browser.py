"""Invitations and share links in a real browser, under the Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from studio.models import Invitation, Role
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch_csp(page: Page) -> list[str]:
    """Collects every CSP refusal the browser reports for this page."""
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return refused


def _sign_in(page: Page, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/projects/")


def test_an_invitation_is_accepted_and_the_new_member_sees_the_team_gallery(
    browser: Browser, live_server: Any, artifacts_dir: Path
) -> None:
    owner = factories.make_user("olga")
    team = factories.make_team(owner, name="Harbour Films")
    project = factories.make_project(team, "Harbour teaser", owner)
    factories.make_output(project, owner, real=True, prompt_text="Gulls over a grey harbour")
    factories.make_user("nils")

    owner_page = browser.new_page()
    refused = _watch_csp(owner_page)
    _sign_in(owner_page, live_server, "olga")
    owner_page.goto(f"{live_server.url}/teams/{team.public_id}/")
    owner_page.get_by_label("Username or email").fill("nils")
    owner_page.get_by_label("Role", exact=True).select_option(Role.EDITOR)
    owner_page.get_by_role("button", name="Invite", exact=True).click()
    expect(owner_page.get_by_text("If an account has that name")).to_be_visible()
    owner_page.screenshot(path=str(artifacts_dir / "team-invite.png"), full_page=True)

    page = browser.new_page()
    refused += _watch_csp(page)
    _sign_in(page, live_server, "nils")
    badge = page.locator(".nav-badge")
    expect(badge).to_have_text("1 invitations")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Teams").click()
    expect(page.get_by_text("Harbour Films invites you as editor")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "invitation-waiting.png"), full_page=True)
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", name="Harbour Films")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Gallery").click()
    expect(page.locator("img, video").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "invitation-accepted-gallery.png"), full_page=True)
    assert Invitation.objects.get().accepted_at is not None
    assert refused == []


def test_a_share_link_plays_for_a_visitor_without_an_account(
    page: Page, live_server: Any, artifacts_dir: Path
) -> None:
    owner = factories.make_user("olga")
    team = factories.make_team(owner, name="Harbour Films")
    project = factories.make_project(team, "Harbour teaser", owner)
    video = factories.make_output(project, owner, real=True, prompt_text="Gulls over a harbour")
    client = Client()
    client.force_login(owner)
    client.post(f"/videos/{video.public_id}/share/")
    token = video.share_links.get().token

    refused = _watch_csp(page)
    page.goto(f"{live_server.url}/s/v/{token}/")
    expect(page.get_by_text("Gulls over a harbour")).to_be_visible()
    player = page.locator("video")
    player.evaluate("v => v.play()")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")
    expect(page.get_by_text("Harbour teaser")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "shared-video.png"), full_page=True)
    assert refused == []
