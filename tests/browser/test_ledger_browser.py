from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from studio.jobs import ledger
from studio.jobs.states import fail, transition
from studio.models import FailReason, Status
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_sets_a_budget_on_the_ledger_page_and_sees_spend(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    team = factories.personal_team(user)
    project = factories.make_project(team, "Harbour film", user)
    for cost, ok in ((40, True), (45, True), (40, False)):
        with transaction.atomic():
            job = factories.make_job(project, user, status=Status.DRAFT, cost_credits=cost)
            ledger.reserve(job)
        transition(job, Status.SUBMITTING, "Submitting")
        if ok:
            transition(job, Status.RUNNING, "Rendering")
            transition(job, Status.SUCCEEDED, "Stored")
        else:
            fail(job, "Refused", error="Blocked", fail_reason=FailReason.CONTENT_FILTERED)

    page.goto(f"{live_server.url}/teams/{team.public_id}/")
    page.get_by_role("link", name="Credits and budget").click()
    expect(page.get_by_role("heading", name="Credits")).to_be_visible()
    expect(page.locator("[data-credits-left]")).to_contain_text("No budget is set")

    page.get_by_label("Credits", exact=True).fill("-3")
    page.get_by_role("button", name="Save budget").click()
    expect(page.get_by_text("Credits cannot be negative.")).to_be_visible()

    page.get_by_label("Credits", exact=True).fill("500")
    page.get_by_label("Jobs in flight at once").fill("4")
    page.get_by_role("button", name="Save budget").click()
    expect(page.locator("[data-credits-left]")).to_contain_text("500 credits left")
    expect(page.get_by_role("cell", name="Released (not charged)")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "ledger.png"), full_page=True)
