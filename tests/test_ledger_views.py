"""The ledger page, its CSV, the owners' budget form, and what job cards say about credits."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from studio.jobs import ledger
from studio.jobs.states import fail, transition
from studio.models import (
    BudgetKind,
    FailReason,
    Job,
    LedgerEntry,
    LedgerKind,
    Status,
    TeamBudget,
)
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def page_url(cast: Cast) -> str:
    return f"/teams/{cast.team.public_id}/ledger/"


def budget_url(cast: Cast) -> str:
    return f"/teams/{cast.team.public_id}/ledger/budget/"


def csv_url(cast: Cast) -> str:
    return f"/teams/{cast.team.public_id}/ledger.csv"


def charged_job(cast: Cast, cost: int = 40, **fields: Any) -> Job:
    """A job that went all the way: reserved, then settled."""
    with transaction.atomic():
        job = factories.make_job(
            cast.project, cast.editor, status=Status.DRAFT, cost_credits=cost, **fields
        )
        ledger.reserve(job)
    transition(job, Status.SUBMITTING, "Submitting")
    transition(job, Status.RUNNING, "Rendering")
    transition(job, Status.SUCCEEDED, "Stored")
    return job


def form(**overrides: Any) -> dict[str, Any]:
    data = {"kind": "balance", "amount": "500", "member_monthly_limit": "", "max_in_flight": ""}
    data.update(overrides)
    return data


# Who may see and change what


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_every_member_sees_the_teams_ledger(cast: Cast, role: str) -> None:
    charged_job(cast)
    page = cast.client_for(getattr(cast, role)).get(page_url(cast))
    assert page.status_code == 200
    content = page.content.decode()
    assert "No budget is set" in content
    assert "Launch film" in content and "eddie" in content
    assert ("Save budget" in content) == (role == "owner")


def test_an_outsider_gets_404_for_the_ledger_page_csv_and_budget(cast: Cast) -> None:
    client = cast.client_for(cast.outsider)
    assert client.get(page_url(cast)).status_code == 404
    assert client.get(csv_url(cast)).status_code == 404
    assert client.post(budget_url(cast), form()).status_code == 404
    assert not TeamBudget.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(cast: Cast) -> None:
    for url in (page_url(cast), csv_url(cast)):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_change_the_budget(cast: Cast, role: str) -> None:
    response = cast.client_for(getattr(cast, role)).post(budget_url(cast), form())
    assert response.status_code == 403
    assert not TeamBudget.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_the_ledger_answers_only_its_methods(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    assert client.post(page_url(cast)).status_code == 405
    assert client.get(budget_url(cast)).status_code == 405
    assert client.post(csv_url(cast)).status_code == 405


def test_the_team_page_links_to_the_ledger(cast: Cast) -> None:
    page = cast.client_for(cast.viewer).get(f"/teams/{cast.team.public_id}/")
    assert page_url(cast) in page.content.decode()


# The budget form


def test_an_owner_sets_a_balance_and_the_change_is_an_adjustment(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    response = client.post(budget_url(cast), form(amount="500", max_in_flight="3"))
    assert response.status_code == 302
    budget = TeamBudget.objects.get(team=cast.team)
    assert (budget.kind, budget.balance, budget.max_in_flight) == ("balance", 500, 3)
    client.post(budget_url(cast), form(amount="200", member_monthly_limit="50"))
    adjustments = LedgerEntry.objects.filter(kind=LedgerKind.ADJUSTMENT).order_by("id")
    assert [a.credits for a in adjustments] == [500, -300]
    assert all(a.member == cast.owner for a in adjustments)
    budget.refresh_from_db()
    assert (budget.balance, budget.member_monthly_limit, budget.max_in_flight) == (200, 50, None)
    assert "200 credits</strong> left" in client.get(page_url(cast)).content.decode()


def test_an_owner_sets_a_monthly_allowance(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    client.post(budget_url(cast), form(kind="monthly", amount="1000"))
    budget = TeamBudget.objects.get(team=cast.team)
    assert (budget.kind, budget.monthly_allowance) == (BudgetKind.MONTHLY, 1000)
    charged_job(cast, cost=40)
    content = client.get(page_url(cast)).content.decode()
    assert "Monthly allowance of <strong>1000</strong> credits: <strong>960 credits</strong>" in (
        content
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "-5", "Credits cannot be negative."),
        ("amount", "100000000000", "That is more than Studio allows (10,000,000 credits)."),
        ("amount", "lots", "Enter a whole number of credits, such as 500."),
        ("amount", "1e9", "Enter a whole number of credits, such as 500."),
        ("amount", "", "Enter a number of credits."),
        ("member_monthly_limit", "0", "Enter at least 1."),
        ("max_in_flight", "-1", "Allow at least 1 job, or leave it empty for no limit."),
        ("max_in_flight", "99999", "Allow at most 1,000 jobs at once."),
        ("kind", "infinite", "Choose a monthly allowance or a one-off balance."),
    ],
)
def test_bad_budget_input_is_refused_with_a_clear_message(
    cast: Cast, field: str, value: str, message: str
) -> None:
    TeamBudget.objects.create(team=cast.team, balance=70)
    response = cast.client_for(cast.owner).post(budget_url(cast), form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert TeamBudget.objects.get(team=cast.team).balance == 70
    assert not LedgerEntry.objects.exists()


def test_forged_fields_change_nothing_but_the_budget_settings(cast: Cast) -> None:
    other = factories.make_team(cast.outsider, name="Oscar's team")
    TeamBudget.objects.create(team=other, balance=5)
    response = cast.client_for(cast.owner).post(
        budget_url(cast),
        form(
            amount="100",
            team=str(other.public_id),
            period_used="-1000000",
            credits="999999",
            kind="balance",
        ),
    )
    assert response.status_code == 302
    budget = TeamBudget.objects.get(team=cast.team)
    assert (budget.balance, budget.period_used) == (100, 0)
    assert TeamBudget.objects.get(team=other).balance == 5
    assert not LedgerEntry.objects.filter(team=other).exists()
    # Another team's budget URL is not found, not changed.
    forged = f"/teams/{other.public_id}/ledger/budget/"
    assert cast.client_for(cast.owner).post(forged, form()).status_code == 404
    unknown = f"/teams/{uuid.uuid4()}/ledger/budget/"
    assert cast.client_for(cast.owner).post(unknown, form()).status_code == 404


# What the page shows


def test_the_ledger_shows_spend_per_member_project_and_model_and_a_chart(cast: Cast) -> None:
    charged_job(cast, cost=40)
    charged_job(cast, cost=45)
    content = cast.client_for(cast.viewer).get(page_url(cast)).content.decode()
    assert content.count('<td class="mono">85</td>') == 3  # member, project, model
    assert '<svg class="ledger-chart"' in content
    assert 'height="100"' in content  # this month's bar is the tallest
    assert "Charged <strong>85</strong> this month" in content


def test_the_ledger_entries_are_paginated(cast: Cast) -> None:
    for _ in range(30):
        charged_job(cast, cost=1)  # two entries each
    client = cast.client_for(cast.viewer)
    first = client.get(page_url(cast)).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(page_url(cast) + "?page=2").content.decode()
    assert second.count('<tr class="ledger-') == 10


def test_the_csv_lists_every_entry_with_its_job(cast: Cast) -> None:
    job = charged_job(cast, cost=40)
    cast.project.name = "=HYPERLINK(evil)"
    cast.project.save()
    response = cast.client_for(cast.viewer).get(csv_url(cast))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["when", "kind", "credits", "member", "job", "project", "model", "note"]
    assert [(r[1], r[2], r[3], r[4]) for r in rows[1:]] == [
        ("reserve", "40", "eddie", str(job.public_id)),
        ("settle", "40", "eddie", str(job.public_id)),
    ]
    # A name a spreadsheet would run as a formula is written as text.
    assert rows[1][5] == "'=HYPERLINK(evil)"


def test_the_csv_of_another_team_shows_nothing_of_this_one(cast: Cast) -> None:
    charged_job(cast)
    other = factories.personal_team(cast.outsider)
    response = cast.client_for(cast.outsider).get(f"/teams/{other.public_id}/ledger.csv")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 1


# Job cards


def test_a_failed_jobs_card_and_page_say_not_charged(cast: Cast) -> None:
    with transaction.atomic():
        job = factories.make_job(cast.project, cast.editor, status=Status.DRAFT, cost_credits=40)
        ledger.reserve(job)
    transition(job, Status.SUBMITTING, "Submitting")
    fail(job, "Refused", error="Bad request", fail_reason=FailReason.VALIDATION)
    content = cast.client_for(cast.editor).get(f"/jobs/{job.public_id}/").content.decode()
    assert "not charged" in content
    assert "40 credits" not in content


def test_a_succeeded_jobs_card_says_what_it_cost(cast: Cast) -> None:
    job = charged_job(cast)
    content = cast.client_for(cast.editor).get(f"/jobs/{job.public_id}/").content.decode()
    assert "40 credits" in content and "not charged" not in content


def test_retry_is_not_offered_or_done_for_a_safety_blocked_job(cast: Cast) -> None:
    job = factories.make_job(
        cast.project,
        cast.editor,
        status=Status.FAILED,
        fail_reason=FailReason.CONTENT_FILTERED,
        error_message="Blocked",
    )
    client = cast.client_for(cast.editor)
    page = client.get(f"/jobs/{job.public_id}/").content.decode()
    assert f"/jobs/{job.public_id}/retry/" not in page
    response = client.post(
        f"/jobs/{job.public_id}/retry/",
        {"idempotency_key": str(uuid.uuid4())},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "safety filter blocked this job" in response.content.decode()
    assert Job.objects.count() == 1


def test_a_retry_the_team_cannot_pay_for_says_why_on_the_card(cast: Cast, settings: Any) -> None:
    settings.STUDIO_COSTS = "local:draft=10"
    TeamBudget.objects.create(team=cast.team, balance=0)
    job = factories.make_job(
        cast.project, cast.editor, status=Status.FAILED, fail_reason=FailReason.ENGINE
    )
    response = cast.client_for(cast.editor).post(
        f"/jobs/{job.public_id}/retry/",
        {"idempotency_key": str(uuid.uuid4())},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "This team has 0 credits left; this job costs 10." in response.content.decode()
    assert Job.objects.count() == 1
