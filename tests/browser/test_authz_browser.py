"""Who sees what, in a real browser: teams apart, viewers, budgets and moderation (issue 11 item 7).

Already covered elsewhere: an invitation accepted and the new member's gallery
(test_members_browser.py), the ledger page's screenshot (test_ledger_browser.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from studio.models import Job, Role, TeamBudget, VideoKind
from studio.services import moderation
from tests import factories
from tests.sandbox_fixture import SandboxHandle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(browser: Browser, live_server: Any, username: str) -> Page:
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/projects/")
    return page


def _switch_team(page: Page, live_server: Any, team_id: str) -> None:
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    page.request.post(
        f"{live_server.url}/teams/switch/",
        form={"team": team_id},
        headers={"X-CSRFToken": csrf, "Referer": page.url},
    )


def _tile(page: Page, prompt: str) -> Locator:
    return page.locator(".tile-prompt", has_text=prompt)


def test_two_users_in_different_teams_never_see_each_others_work(
    browser: Browser, live_server: Any, artifacts_dir: Path
) -> None:
    ada, ben = factories.make_user("ada"), factories.make_user("ben")
    ada_project = factories.make_project(factories.personal_team(ada), "Ada's lighthouse", ada)
    ben_project = factories.make_project(factories.personal_team(ben), "Ben's desert", ben)
    ada_video = factories.make_output(ada_project, ada, prompt_text="A lighthouse in a storm")
    factories.make_output(ben_project, ben, prompt_text="Dunes at noon")

    page = _sign_in(browser, live_server, "ben")
    expect(page.get_by_text("Ben's desert")).to_be_visible()
    expect(page.get_by_text("Ada's lighthouse")).to_have_count(0)
    page.goto(f"{live_server.url}/gallery/")
    expect(_tile(page, "Dunes at noon")).to_be_visible()
    expect(_tile(page, "A lighthouse in a storm")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "authz-ben-gallery.png"), full_page=True)
    # Ada's links, guessed or leaked, are no use to Ben: the same answer as a made-up id.
    for path in (
        f"/projects/{ada_project.public_id}/",
        f"/videos/{ada_video.public_id}/",
        f"/jobs/{ada_video.job.public_id}/",
        f"/files/videos/{ada_video.public_id}/file",
    ):
        assert page.request.get(f"{live_server.url}{path}").status == 404, path


def test_a_viewer_is_not_offered_the_generate_form_and_a_forged_submit_is_refused(
    browser: Browser, live_server: Any, artifacts_dir: Path
) -> None:
    owner = factories.make_user("olga")
    team = factories.make_team(owner, name="Harbour Films")
    project = factories.make_project(team, "Harbour teaser", owner)
    factories.add_member(team, factories.make_user("vic"), Role.VIEWER)

    page = _sign_in(browser, live_server, "vic")
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    expect(page.get_by_text("You are a viewer in Harbour Films")).to_be_visible()
    expect(page.get_by_role("button", name="Generate")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Prompt")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "authz-viewer-project.png"), full_page=True)
    # A submit built by hand, with the page's own CSRF token, is refused.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/projects/{project.public_id}/generate/",
        form={"mode": "text2video", "provider": "local", "model": "draft", "prompt": "Gulls"},
        headers={"X-CSRFToken": csrf, "Referer": page.url},
    )
    assert response.status == 403
    assert not Job.objects.exists()


def test_a_team_over_budget_sees_the_refusal_before_anything_is_sent_upstream(
    browser: Browser, live_server: Any, sandbox: SandboxHandle, artifacts_dir: Path
) -> None:
    owner = factories.make_user("olga")
    team = factories.personal_team(owner)
    project = factories.make_project(team, "Rainy street", owner)
    TeamBudget.objects.create(team=team, balance=5)

    page = _sign_in(browser, live_server, "olga")
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    page.get_by_label("Provider").select_option("mountsea")
    # The server re-renders the form for the provider: fill the prompt in the new one.
    expect(page.get_by_label("Model")).to_contain_text("Veo 2 Fast")
    page.wait_for_load_state("networkidle")
    page.get_by_role("textbox", name="Prompt").fill("A paper boat on a rainy street")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("This team has 5 credits left; this job costs 10")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "authz-over-budget.png"), full_page=True)
    assert not Job.objects.exists()
    assert sandbox.creates == 0
    assert TeamBudget.objects.get(team=team).balance == 5


def test_a_video_hidden_by_staff_leaves_another_members_gallery_and_its_upscale_stops_playing(
    browser: Browser, live_server: Any, artifacts_dir: Path
) -> None:
    owner = factories.make_user("olga")
    team = factories.make_team(owner, name="Harbour Films")
    project = factories.make_project(team, "Harbour teaser", owner)
    video = factories.make_output(project, owner, real=True, prompt_text="Gulls over the harbour")
    upscale = factories.make_output(
        project, owner, real=True, parent=video, kind=VideoKind.VIDEO, prompt_text="Gulls, upscaled"
    )
    factories.make_output(project, owner, real=True, prompt_text="A quiet quay at dusk")
    factories.add_member(team, factories.make_user("mia"), Role.EDITOR)
    factories.make_user("stan", is_staff=True)
    moderation.file_report(video, owner, "Not ours to show")

    member = _sign_in(browser, live_server, "mia")
    _switch_team(member, live_server, str(team.public_id))
    member.goto(f"{live_server.url}/gallery/")
    expect(_tile(member, "Gulls over the harbour")).to_be_visible()
    child_file = f"{live_server.url}/files/videos/{upscale.public_id}/file"
    assert member.request.get(child_file).status == 200

    staff = _sign_in(browser, live_server, "stan")
    staff.goto(f"{live_server.url}/review/")
    staff.screenshot(path=str(artifacts_dir / "review-queue.png"), full_page=True)
    staff.on("dialog", lambda dialog: dialog.accept())
    staff.get_by_role("button", name="Hide").first.click()
    # Hidden videos stay in the queue with a way back.
    expect(staff.get_by_role("button", name="Restore").first).to_be_visible()

    member.reload()
    expect(_tile(member, "A quiet quay at dusk")).to_be_visible()
    expect(_tile(member, "Gulls over the harbour")).to_have_count(0)
    expect(_tile(member, "Gulls, upscaled")).to_have_count(0)
    member.screenshot(path=str(artifacts_dir / "authz-gallery-after-hide.png"), full_page=True)
    assert member.request.get(child_file).status == 404

    staff.goto(f"{live_server.url}/audit/")
    expect(staff.get_by_text("video.hide").first).to_be_visible()
    staff.screenshot(path=str(artifacts_dir / "audit.png"), full_page=True)
