"""The credit ledger in the job engine: every way a job ends moves its credits exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from studio.jobs import ledger, sweep
from studio.jobs.actions import (
    JobActionError,
    cancel_job,
    mark_failed,
    resubmit_job,
    retry_job,
)
from studio.jobs.states import fail, needs_attention, transition
from studio.models import (
    BudgetKind,
    FailReason,
    Job,
    LedgerEntry,
    LedgerKind,
    Status,
    Team,
    TeamBudget,
)
from studio.presenters import card_context
from tests import factories
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def budget(team: Team, balance: int = 100, **fields: Any) -> TeamBudget:
    return TeamBudget.objects.create(team=team, kind=BudgetKind.BALANCE, balance=balance, **fields)


def reserved_job(
    cast: Cast, user: User | None = None, cost: int = 40, provider: str = "mountsea"
) -> Job:
    """A draft whose cost was reserved as `create_job` reserves it."""
    with transaction.atomic():
        job = factories.make_job(
            cast.project,
            user or cast.editor,
            status=Status.DRAFT,
            provider=provider,
            model="veo31_fast",
            cost_credits=cost,
        )
        ledger.reserve(job)
    return job


def sums(team: Team) -> dict[str, int]:
    rows = LedgerEntry.objects.filter(team=team).values("kind").annotate(total=Sum("credits"))
    return {row["kind"]: row["total"] for row in rows}


def balance(team: Team) -> int:
    return TeamBudget.objects.get(team=team).balance


def accounted(team: Team) -> bool:
    """Reserved = charged + released + still held, and the balance agrees."""
    total = sums(team)
    held = total.get("reserve", 0) - total.get("settle", 0) - total.get("release", 0)
    running = Job.objects.filter(
        team=team, status__in=[Status.DRAFT, Status.SUBMITTING, Status.QUEUED, Status.RUNNING]
    ) | Job.objects.filter(team=team, status=Status.NEEDS_ATTENTION)
    return held == sum(job.cost_credits for job in running)


def submitted(job: Job) -> Job:
    transition(job, Status.SUBMITTING, "Submitting")
    return job


def test_creating_a_job_reserves_its_cost_and_success_settles_it(cast: Cast) -> None:
    budget(cast.team, 100)
    job = reserved_job(cast)
    assert balance(cast.team) == 60
    submitted(job)
    transition(job, Status.QUEUED, "Accepted", upstream_id="up-1")
    transition(job, Status.SUCCEEDED, "Video stored")
    assert sums(cast.team) == {"reserve": 40, "settle": 40}
    assert balance(cast.team) == 60
    assert card_context(job, can_edit=True)["credits"] == "40 credits"


def test_a_permanent_refusal_releases_the_reservation(cast: Cast) -> None:
    budget(cast.team, 100)
    job = submitted(reserved_job(cast))
    fail(job, "The provider refused the job", error="Bad prompt", fail_reason=FailReason.VALIDATION)
    assert sums(cast.team) == {"reserve": 40, "release": 40}
    assert balance(cast.team) == 100
    release = LedgerEntry.objects.get(kind=LedgerKind.RELEASE)
    assert release.job == job and release.member == cast.editor
    assert release.note.startswith("Not charged")


def test_a_safety_block_releases_the_credits_and_offers_no_retry(cast: Cast) -> None:
    budget(cast.team, 100)
    job = submitted(reserved_job(cast))
    fail(
        job,
        "The provider refused the job",
        error="Blocked by the safety filter",
        fail_reason=FailReason.CONTENT_FILTERED,
    )
    assert balance(cast.team) == 100
    card = card_context(job, can_edit=True)
    assert card["credits"] == "not charged"
    assert card["can_retry"] is False
    with pytest.raises(JobActionError, match="safety filter"):
        retry_job(job, cast.editor)
    assert Job.objects.count() == 1
    assert balance(cast.team) == 100


def test_another_failure_still_offers_retry_and_says_not_charged(cast: Cast) -> None:
    job = submitted(reserved_job(cast))
    fail(job, "Refused", error="Server error", fail_reason=FailReason.UPSTREAM_ERROR)
    card = card_context(job, can_edit=True)
    assert card["can_retry"] is True
    assert card["credits"] == "not charged"


def test_cancelling_a_draft_releases_its_credits(cast: Cast) -> None:
    budget(cast.team, 100)
    job = reserved_job(cast, provider="local", cost=40)
    cancel_job(job, cast.editor)
    assert job.status == Status.CANCELLED
    assert balance(cast.team) == 100
    assert sums(cast.team) == {"reserve": 40, "release": 40}
    assert card_context(job, can_edit=True)["credits"] == "not charged"


def test_a_worker_killed_in_submit_keeps_the_reservation_until_a_person_decides(
    cast: Cast,
) -> None:
    budget(cast.team, 200)
    kept = submitted(reserved_job(cast))
    given_up = submitted(reserved_job(cast))
    long_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk__in=[kept.pk, given_up.pk]).update(next_poll_at=long_ago)
    assert sweep.expire_stale_submissions() == 2
    kept.refresh_from_db()
    given_up.refresh_from_db()
    assert kept.status == given_up.status == Status.NEEDS_ATTENTION
    assert balance(cast.team) == 120
    assert sums(cast.team) == {"reserve": 80}

    resubmit_job(kept, cast.editor)
    assert kept.status == Status.DRAFT
    assert balance(cast.team) == 120

    mark_failed(given_up, cast.editor)
    assert balance(cast.team) == 160
    assert sums(cast.team) == {"reserve": 80, "release": 40}
    assert accounted(cast.team)


def test_a_create_that_never_reached_the_provider_is_released_when_submit_gives_up(
    cast: Cast,
) -> None:
    budget(cast.team, 100)
    job = submitted(reserved_job(cast))
    # Not accepted (connection refused): back to draft, credits still held for the next try.
    transition(job, Status.DRAFT, "Not accepted; nothing was started upstream")
    assert balance(cast.team) == 60
    submitted(job)
    fail(job, "Gave up after 2 attempts", error="Not accepted", fail_reason=FailReason.QUOTA)
    assert balance(cast.team) == 100
    assert accounted(cast.team)


def test_a_late_success_after_a_timeout_is_charged_again(cast: Cast) -> None:
    budget(cast.team, 100)
    job = submitted(reserved_job(cast))
    transition(job, Status.QUEUED, "Accepted", upstream_id="up-late")
    fail(job, "Timed out", error="Timed out", fail_reason=FailReason.TIMEOUT)
    assert balance(cast.team) == 100
    transition(job, Status.SUCCEEDED, "Late success reconciled")
    assert balance(cast.team) == 60
    assert sums(cast.team) == {"reserve": 80, "release": 40, "settle": 40}


def test_credits_are_released_only_once(cast: Cast) -> None:
    budget(cast.team, 100)
    job = submitted(reserved_job(cast))
    fail(job, "Refused", error="No")
    ledger.release(job, "again")
    assert not transition(job, Status.FAILED, "Twice", expect=Status.SUBMITTING)
    assert sums(cast.team) == {"reserve": 40, "release": 40}
    assert balance(cast.team) == 100


def test_a_team_without_a_budget_is_not_limited_but_its_spend_is_recorded(cast: Cast) -> None:
    job = reserved_job(cast, cost=10_000)
    submitted(job)
    transition(job, Status.QUEUED, "Accepted", upstream_id="up-2")
    transition(job, Status.SUCCEEDED, "Stored")
    assert sums(cast.team) == {"reserve": 10_000, "settle": 10_000}


def test_a_job_costing_more_than_the_team_has_left_is_refused(cast: Cast) -> None:
    budget(cast.team, 30)
    refusal = "This team has 30 credits left; this job costs 40"
    with pytest.raises(ledger.BudgetExceeded, match=refusal):
        reserved_job(cast)
    assert not Job.objects.exists()
    assert balance(cast.team) == 30


def test_a_member_over_their_monthly_limit_is_refused_while_others_may_go_on(cast: Cast) -> None:
    budget(cast.team, 1000, member_monthly_limit=50)
    reserved_job(cast, cast.editor)
    with pytest.raises(ledger.BudgetExceeded, match="You have 10 of your 50 credits"):
        reserved_job(cast, cast.editor)
    reserved_job(cast, cast.owner)
    assert balance(cast.team) == 920


def test_released_credits_count_again_towards_a_members_limit(cast: Cast) -> None:
    budget(cast.team, 1000, member_monthly_limit=50)
    job = reserved_job(cast, cast.editor)
    cancel_job(job, cast.editor)
    reserved_job(cast, cast.editor)


def test_a_monthly_allowance_starts_afresh_each_month(cast: Cast) -> None:
    TeamBudget.objects.create(team=cast.team, kind=BudgetKind.MONTHLY, monthly_allowance=50)
    reserved_job(cast)
    with pytest.raises(ledger.BudgetExceeded, match="This team has 10 credits left"):
        reserved_job(cast)
    last_month = (ledger.month_of() - timedelta(days=1)).replace(day=1)
    TeamBudget.objects.filter(team=cast.team).update(period=last_month)
    reserved_job(cast)
    assert TeamBudget.objects.get(team=cast.team).period_used == 40


def test_ledger_entries_cannot_be_changed_or_deleted(cast: Cast) -> None:
    reserved_job(cast)
    entry = LedgerEntry.objects.get()
    entry.credits = 1
    with pytest.raises(ValueError, match="never changed"):
        entry.save()
    with pytest.raises(ValueError, match="never deleted"):
        entry.delete()


# Jobs in flight and fair turns


def drafts(team: Team, count: int) -> None:
    project = factories.make_project(team)
    Job.objects.bulk_create(
        Job(
            team=team,
            project=project,
            provider="mountsea",
            model="veo31_fast",
            mode="text2video",
            status=Status.DRAFT,
        )
        for _ in range(count)
    )


def test_one_teams_500_drafts_cannot_starve_another_teams_one(cast: Cast) -> None:
    busy = factories.make_team(factories.make_user("busy"), name="Busy")
    drafts(busy, 500)
    drafts(cast.team, 1)
    due = sweep.due_drafts(10, timezone.now())
    assert len(due) == 10
    assert cast.team.pk in {job.team_id for job in due[:2]}
    # Without the turns, the oldest 10 drafts would all have been the busy team's.
    oldest = Job.objects.filter(status=Status.DRAFT).order_by("pk")[:10]
    assert {job.team_id for job in oldest} == {busy.pk}


def test_a_team_at_its_in_flight_limit_waits_while_others_go_on(cast: Cast) -> None:
    budget(cast.team, 1000, max_in_flight=2)
    drafts(cast.team, 5)
    other = factories.make_team(factories.make_user("other"), name="Other")
    drafts(other, 3)
    now = timezone.now()
    due = sweep.due_drafts(100, now)
    assert sum(job.team_id == cast.team.pk for job in due) == 2
    assert sum(job.team_id == other.pk for job in due) == 3
    # A draft claimed for a task and a running job both take a place.
    first, second = (job for job in due if job.team_id == cast.team.pk)
    Job.objects.filter(pk=first.pk).update(next_poll_at=now + timedelta(minutes=1))
    Job.objects.filter(pk=second.pk).update(status=Status.RUNNING)
    assert ledger.in_flight_room([cast.team.pk], now) == {cast.team.pk: 0}
    assert not [job for job in sweep.due_drafts(100, now) if job.team_id == cast.team.pk]
    Job.objects.filter(pk=second.pk).update(status=Status.SUCCEEDED)
    assert ledger.in_flight_room([cast.team.pk], now) == {cast.team.pk: 1}


def test_a_team_with_an_in_flight_limit_leaves_new_jobs_to_the_sweep(cast: Cast) -> None:
    assert ledger.sends_at_once(cast.team.pk)
    budget(cast.team, 100, max_in_flight=3)
    assert not ledger.sends_at_once(cast.team.pk)


def test_a_job_needing_attention_holds_its_credits_on_the_team_page_summary(cast: Cast) -> None:
    budget(cast.team, 100)
    job = submitted(reserved_job(cast))
    needs_attention(job, "Unknown outcome", error="Lost answer")
    assert balance(cast.team) == 60
    assert accounted(cast.team)
