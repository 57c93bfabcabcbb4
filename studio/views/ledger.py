"""A team's credit ledger: entries, balance, spend, a monthly chart, CSV; owners set the budget."""

from __future__ import annotations

import csv
import dataclasses
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from studio.forms.ledger import BudgetForm
from studio.jobs.ledger import credits_left
from studio.models import Membership
from studio.presenters import credit_words, label
from studio.services import audit
from studio.services import ledger as ledger_service
from studio.typing import AuthedRequest
from studio.views.access import get_team_membership, require_owner

PAGE_SIZE = 50


def _initial(membership: Membership) -> dict[str, Any]:
    budget = ledger_service.budget_of(membership.team)
    if budget is None:
        return {}
    return {
        "kind": budget.kind,
        "amount": budget.balance if budget.kind == "balance" else budget.monthly_allowance,
        "member_monthly_limit": budget.member_monthly_limit,
        "max_in_flight": budget.max_in_flight,
    }


def _spend_rows(team: Any) -> dict[str, list[dict[str, Any]]]:
    """Spend tables with names people read; a row whose job or account is gone says so."""
    spend = ledger_service.spend(team)
    return {
        "member": [
            {"name": r["member__username"] or "(former account)", "credits": r["credits"]}
            for r in spend["member"]
        ],
        "project": [
            {"name": r["job__project__name"] or "(deleted job)", "credits": r["credits"]}
            for r in spend["project"]
        ],
        "model": [
            {
                "name": label(r["job__provider"], r["job__model"])
                if r["job__model"]
                else "(deleted job)",
                "credits": r["credits"],
            }
            for r in spend["model"]
        ],
    }


def _page(
    request: AuthedRequest, membership: Membership, form: BudgetForm | None = None
) -> HttpResponse:
    team = membership.team
    budget = ledger_service.budget_of(team)
    entries = Paginator(ledger_service.entries(team), PAGE_SIZE).get_page(request.GET.get("page"))
    if form is None and membership.is_owner:
        form = BudgetForm(initial=_initial(membership))
    return render(
        request,
        "studio/ledger.html",
        {
            "team": team,
            "my_membership": membership,
            "budget": budget,
            "left": credit_words(credits_left(budget)) if budget else "",
            "totals": ledger_service.totals(team),
            "spend": _spend_rows(team),
            "chart": ledger_service.monthly_chart(team),
            "entries": entries,
            "form": form,
        },
    )


@require_GET
def team_ledger(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    return _page(request, get_team_membership(request, team_id))


@require_POST
def team_budget(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    membership = get_team_membership(request, team_id)
    require_owner(membership)
    form = BudgetForm(request.POST)
    if not form.is_valid():
        return _page(request, membership, form)
    budget = form.settings()
    ledger_service.save_budget(membership.team, request.user, budget)
    audit.record(request, "budget.save", membership.team, **dataclasses.asdict(budget))
    messages.success(request, "Budget saved.")
    return redirect("team_ledger", team_id=membership.team.public_id)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def team_ledger_csv(request: AuthedRequest, team_id: UUID) -> StreamingHttpResponse:
    membership = get_team_membership(request, team_id)
    writer = csv.writer(_Echo())
    rows = (writer.writerow(row) for row in ledger_service.csv_rows(membership.team))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    name = f"ledger-{membership.team.public_id}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
