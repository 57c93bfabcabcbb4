from __future__ import annotations

import pytest

from studio.jobs.states import TRANSITIONS, InvalidTransition, transition
from studio.models import Job, JobEvent, Status
from tests.conftest import Cast
from tests.factories import make_job

pytestmark = pytest.mark.django_db


ALL = [s.value for s in Status]


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in ALL for t in ALL if t not in TRANSITIONS[s]],
)
def test_invalid_transitions_are_refused_and_change_nothing(
    cast: Cast, source: str, target: str
) -> None:
    job = make_job(cast.project, cast.editor, status=source, event=False)
    with pytest.raises(InvalidTransition):
        transition(job, target, "should not happen")
    job.refresh_from_db()
    assert job.status == source
    assert not JobEvent.objects.filter(job=job).exists()


def test_terminal_states_lead_nowhere_except_late_success_after_failure() -> None:
    assert TRANSITIONS[Status.SUCCEEDED] == frozenset()
    assert TRANSITIONS[Status.CANCELLED] == frozenset()
    assert TRANSITIONS[Status.FAILED] == frozenset({Status.SUCCEEDED})


def test_a_transition_is_stored_as_an_event_with_its_reason(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT, event=False)
    assert transition(job, Status.SUBMITTING, "claimed by the worker")
    assert job.status == Status.SUBMITTING
    event = job.events.get()
    assert (event.from_status, event.to_status, event.reason) == (
        Status.DRAFT,
        Status.SUBMITTING,
        "claimed by the worker",
    )


def test_only_one_of_two_claims_on_the_same_job_wins(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT, event=False)
    stale_copy = Job.objects.get(pk=job.pk)
    assert transition(job, Status.SUBMITTING, "first worker")
    assert not transition(stale_copy, Status.SUBMITTING, "second worker", expect=Status.DRAFT)
    assert job.events.count() == 1


def test_terminal_transitions_set_the_finish_time(cast: Cast) -> None:
    job = make_job(cast.project, cast.editor, status=Status.DRAFT, event=False)
    transition(job, Status.CANCELLED, "changed my mind")
    assert job.finished_at is not None


def test_the_status_column_refuses_unknown_values(cast: Cast) -> None:
    from django.db import IntegrityError, transaction

    job = make_job(cast.project, cast.editor, status=Status.DRAFT, event=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=job.pk).update(status="exploded")
    job.refresh_from_db()
    assert job.status == Status.DRAFT
