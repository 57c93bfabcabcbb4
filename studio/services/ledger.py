"""The credit ledger's team side: owners' budget settings, and what the ledger page reads.

Jobs move credits through `studio.jobs.ledger` (reserve, settle, release); this
module changes only the budget, and records every change as an adjustment
entry, so the ledger adds up to the credits a team has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q, QuerySet, Sum

from studio.jobs.ledger import credits_left, locked_budget, month_of
from studio.models import BudgetKind, LedgerEntry, LedgerKind, Team, TeamBudget

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CHART_MONTHS = 12


@dataclass(frozen=True)
class BudgetSettings:
    kind: str
    amount: int  # the monthly allowance, or the one-off balance
    member_monthly_limit: int | None
    max_in_flight: int | None


def budget_of(team: Team) -> TeamBudget | None:
    return TeamBudget.objects.filter(team=team).first()


def save_budget(team: Team, user: User, new: BudgetSettings) -> TeamBudget:
    """Set a team's budget; the change in credits left is recorded as an adjustment."""
    period = month_of()
    with transaction.atomic():
        budget = locked_budget(team.pk)
        if budget is None:
            TeamBudget.objects.get_or_create(team=team)
            budget = locked_budget(team.pk)
            assert budget is not None
            before = 0
        else:
            before = credits_left(budget, period)
        budget.kind = new.kind
        if new.kind == BudgetKind.BALANCE:
            budget.balance = new.amount
        else:
            budget.monthly_allowance = new.amount
            if budget.period != period:
                budget.period, budget.period_used = period, 0
        budget.member_monthly_limit = new.member_monthly_limit
        budget.max_in_flight = new.max_in_flight
        budget.save()
        change = credits_left(budget, period) - before
        what = "balance" if new.kind == BudgetKind.BALANCE else "monthly allowance"
        LedgerEntry.objects.create(
            team=team,
            member=user,
            kind=LedgerKind.ADJUSTMENT,
            credits=change,
            period=period,
            note=f"{user.get_username()} set the {what} to {new.amount}",
        )
    return budget


# What the ledger page shows


def entries(team: Team) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(team=team).select_related("member", "job", "job__project")


def totals(team: Team) -> dict[str, int]:
    """Every credit accounted for: reserved = charged + released + still held."""
    sums = LedgerEntry.objects.filter(team=team).aggregate(
        **{
            kind: Sum("credits", filter=Q(kind=kind))
            for kind in (LedgerKind.RESERVE, LedgerKind.SETTLE, LedgerKind.RELEASE)
        }
    )
    reserved, settled, released = (int(sums[k] or 0) for k in ("reserve", "settle", "release"))
    this_month = LedgerEntry.objects.filter(
        team=team, kind=LedgerKind.SETTLE, period=month_of()
    ).aggregate(total=Sum("credits"))
    return {
        "reserved": reserved,
        "charged": settled,
        "released": released,
        "held": reserved - settled - released,
        "charged_this_month": int(this_month["total"] or 0),
    }


def _spend_by(team: Team, *keys: str) -> list[dict[str, Any]]:
    rows = (
        LedgerEntry.objects.filter(team=team, kind=LedgerKind.SETTLE)
        .values(*keys)
        .annotate(credits=Sum("credits"))
        .order_by("-credits")
    )
    return list(rows)


def spend(team: Team) -> dict[str, list[dict[str, Any]]]:
    """Credits charged per member, per project and per (provider, model)."""
    return {
        "member": _spend_by(team, "member__username"),
        "project": _spend_by(team, "job__project__name"),
        "model": _spend_by(team, "job__provider", "job__model"),
    }


def _months_back(last: date, count: int) -> list[date]:
    months = []
    year, month = last.year, last.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def monthly_chart(team: Team, months: int = CHART_MONTHS) -> list[dict[str, Any]]:
    """Credits charged per month for the last `months` months, as bars of an SVG
    chart 600 wide: each month's `x`, and its bar's top `y` above a baseline at 110."""
    span = _months_back(month_of(), months)
    rows = dict(
        LedgerEntry.objects.filter(team=team, kind=LedgerKind.SETTLE, period__gte=span[0])
        .values("period")
        .annotate(credits=Sum("credits"))
        .values_list("period", "credits")
    )
    top = max(rows.values(), default=0) or 1
    bars = []
    for i, month in enumerate(span):
        credits = int(rows.get(month, 0))
        percent = round(100 * credits / top)
        bar = {"month": month, "credits": credits, "percent": percent}
        bars.append({**bar, "x": 50 * i, "y": 110 - percent})
    return bars


CSV_HEADER = ["when", "kind", "credits", "member", "job", "project", "model", "note"]


def _text(value: str) -> str:
    # A cell starting with one of these is a formula to a spreadsheet; names are typed by users.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_rows(team: Team) -> Iterator[list[str]]:
    yield CSV_HEADER
    for entry in entries(team).order_by("created_at", "id").iterator(chunk_size=500):
        job = entry.job
        yield [
            entry.created_at.isoformat(),
            entry.kind,
            str(entry.credits),
            _text(entry.member.get_username()) if entry.member else "",
            str(job.public_id) if job else "",
            _text(job.project.name) if job else "",
            f"{job.provider}:{job.model}" if job else "",
            _text(entry.note),
        ]
