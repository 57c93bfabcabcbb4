"""The job's side of the credit ledger: reserve at create, settle on success, release otherwise.

Every movement happens inside the transaction of the job change it belongs to
(the create, or `states.transition`), so a job's status and its credits can
never disagree. Reserving locks the team's budget row (`select_for_update` on
PostgreSQL; SQLite takes its write lock when the transaction begins, as the
settings ask for `IMMEDIATE` transactions), so concurrent submits are checked
one after the other and a team never spends more than it has.

Per job, every credit is accounted for: reserved = settled + released + still held.

- success settles what is held (a late success after a timeout had released it
  reserves and settles again: the provider did charge for it);
- failure and cancel release what is held, whatever the reason: a permanent
  refusal, a safety block, a create that never reached the provider, or a
  person marking a job failed;
- needs attention and a resubmit keep the reservation: the outcome is unknown
  until a person decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Count, Q, Sum
from django.utils import timezone

from studio.models import (
    IN_FLIGHT_STATUSES,
    BudgetKind,
    Job,
    LedgerEntry,
    LedgerKind,
    Status,
    TeamBudget,
)


class BudgetExceeded(Exception):
    """The team (or the member, this month) has too few credits left for the job."""


def month_of(when: datetime | None = None) -> date:
    return timezone.localdate(when or timezone.now()).replace(day=1)


def _roll(budget: TeamBudget, period: date) -> None:
    """A monthly allowance starts afresh each month."""
    if budget.period != period:
        budget.period = period
        budget.period_used = 0


def credits_left(budget: TeamBudget, period: date | None = None) -> int:
    if budget.kind == BudgetKind.BALANCE:
        return budget.balance
    used = budget.period_used if budget.period == (period or month_of()) else 0
    return max(0, budget.monthly_allowance - used)


def _debit(budget: TeamBudget, credits: int, period: date) -> None:
    if budget.kind == BudgetKind.BALANCE:
        budget.balance -= credits
    else:
        _roll(budget, period)
        budget.period_used += credits


def _credit(budget: TeamBudget, credits: int, period: date) -> None:
    """Give back `credits` that were taken in `period` (a past month's are gone with it)."""
    if budget.kind == BudgetKind.BALANCE:
        budget.balance += credits
    elif budget.period == period:
        budget.period_used -= credits


def locked_budget(team_id: int) -> TeamBudget | None:
    return TeamBudget.objects.select_for_update().filter(team_id=team_id).first()


def member_used(team_id: int, member_id: int, period: date) -> int:
    """Credits a member has reserved in a month, less what was released."""
    entries = LedgerEntry.objects.filter(team_id=team_id, member_id=member_id, period=period)
    sums = entries.aggregate(
        reserved=Sum("credits", filter=Q(kind=LedgerKind.RESERVE)),
        released=Sum("credits", filter=Q(kind=LedgerKind.RELEASE)),
    )
    return int(sums["reserved"] or 0) - int(sums["released"] or 0)


def _entry(job: Job, kind: str, credits: int, period: date, note: str) -> None:
    LedgerEntry.objects.create(
        team_id=job.team_id,
        job=job,
        member_id=job.created_by_id,
        kind=kind,
        credits=credits,
        period=period,
        note=note[:200],
    )


def reserve(job: Job) -> None:
    """Hold the job's cost against its team's budget; raises `BudgetExceeded` instead.

    Call inside the transaction that creates the job, so a refusal leaves no job.
    """
    cost = job.cost_credits
    if cost <= 0:
        return
    period = month_of()
    budget = locked_budget(job.team_id)
    if budget is not None:
        left = credits_left(budget, period)
        if cost > left:
            raise BudgetExceeded(
                f"This team has {left} credit{'s' if left != 1 else ''} left; "
                f"this job costs {cost}."
            )
        limit = budget.member_monthly_limit
        if limit is not None and job.created_by_id is not None:
            mine = max(0, limit - member_used(job.team_id, job.created_by_id, period))
            if cost > mine:
                raise BudgetExceeded(
                    f"You have {mine} of your {limit} credits for this month left; "
                    f"this job costs {cost}."
                )
        _debit(budget, cost, period)
        budget.save(update_fields=["balance", "period", "period_used", "updated_at"])
    _entry(job, LedgerKind.RESERVE, cost, period, "Reserved when the job was created")


def _held(job: Job) -> list[tuple[date, int]]:
    """What is still reserved for the job, per month it was reserved in."""
    held: dict[date, int] = {}
    rows = LedgerEntry.objects.filter(job=job).exclude(kind=LedgerKind.ADJUSTMENT)
    for kind, credits, period in rows.values_list("kind", "credits", "period"):
        sign = 1 if kind == LedgerKind.RESERVE else -1
        held[period] = held.get(period, 0) + sign * credits
    return [(period, credits) for period, credits in held.items() if credits > 0]


def settle(job: Job) -> None:
    held = _held(job)
    if not held and job.cost_credits > 0:
        # Nothing held (a late success after the timeout released it): the
        # provider charged anyway, so the ledger says so, even past the budget.
        period = month_of()
        budget = locked_budget(job.team_id)
        if budget is not None:
            _debit(budget, job.cost_credits, period)
            budget.save(update_fields=["balance", "period", "period_used", "updated_at"])
        _entry(job, LedgerKind.RESERVE, job.cost_credits, period, "Late success")
        held = [(period, job.cost_credits)]
    for period, credits in held:
        _entry(job, LedgerKind.SETTLE, credits, period, "Charged: the video was delivered")


def release(job: Job, why: str) -> None:
    held = _held(job)
    if not held:
        return
    budget = locked_budget(job.team_id)
    for period, credits in held:
        if budget is not None:
            _credit(budget, credits, period)
        _entry(job, LedgerKind.RELEASE, credits, period, f"Not charged: {why}")
    if budget is not None:
        budget.save(update_fields=["balance", "period_used", "updated_at"])


def on_transition(job: Job, to: str, why: str) -> None:
    """The ledger's part of a status change; runs inside the transition's transaction."""
    if to == Status.SUCCEEDED:
        settle(job)
    elif to in (Status.FAILED, Status.CANCELLED):
        release(job, why)


# Jobs in flight


def in_flight_room(team_ids: Iterable[int], now: datetime | None = None) -> dict[int, int]:
    """How many more jobs each team with an in-flight limit may start now.

    A draft already claimed for a submit task (its `next_poll_at` in the future)
    counts as in flight: its task may start any moment. Teams without a limit
    are not in the answer.
    """
    now = now or timezone.now()
    budgets = TeamBudget.objects.filter(team_id__in=set(team_ids), max_in_flight__isnull=False)
    rows = budgets.values_list("team_id", "max_in_flight")
    limits = {team: int(limit or 0) for team, limit in rows}
    if not limits:
        return {}
    busy = Q(status__in=IN_FLIGHT_STATUSES) | Q(status=Status.DRAFT, next_poll_at__gt=now)
    counts = dict(
        Job.objects.filter(busy, team_id__in=limits)
        .values("team_id")
        .annotate(n=Count("pk"))
        .values_list("team_id", "n")
    )
    return {team: max(0, limit - counts.get(team, 0)) for team, limit in limits.items()}


def sends_at_once(team_id: int) -> bool:
    """Whether a new job may go straight to a submit task. A team with an
    in-flight limit waits for the sweep, which alone counts what is in flight."""
    return not TeamBudget.objects.filter(team_id=team_id, max_in_flight__isnull=False).exists()
