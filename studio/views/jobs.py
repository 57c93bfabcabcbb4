"""The live queue: job cards, the one poll of a page that shows them, and what
creators may do to a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from studio import presenters
from studio.jobs import actions as job_actions
from studio.jobs.create import JobRequestError
from studio.models import TERMINAL_STATUSES, Job, Status
from studio.presenters import card_context, cards
from studio.services import audit
from studio.services import gallery as gallery_service
from studio.typing import AuthedRequest
from studio.views.access import EDIT_ROLES, current_membership_or_404, get_job_for_member
from studio.views.access import can_edit as member_can_edit

# The poller sends `card=<job public id>.<version>` (51 bytes) per running card
# in its URL: 75 of them stay under the 4 KB request line servers accept by
# default (gunicorn's limit_request_line). Cards past these update on reload.
MAX_CARDS_PER_POLL = 75


def _parse_cards(values: list[str]) -> dict[UUID, str]:
    """`<job public id>.<version>` pairs sent by the page's poller; junk is ignored."""
    found: dict[UUID, str] = {}
    for value in values[:MAX_CARDS_PER_POLL]:
        public_id, _, version = value.partition(".")
        try:
            found[UUID(public_id)] = version
        except ValueError:
            continue
    return found


def _new_tiles(request: AuthedRequest, jobs: list[Job]) -> list[Job]:
    if not jobs:
        return []
    tiles = list(
        gallery_service.with_favourite(
            # A job hidden by the moderators while it ran never becomes a tile.
            Job.objects.filter(
                pk__in=[job.pk for job in jobs], video__isnull=False, hidden_at__isnull=True
            ),
            request.user,
        )
        .select_related("video", "created_by", "source_video__job")
        .order_by("created_at", "id")
    )
    presenters.label_tiles(tiles)
    return tiles


@require_safe
@vary_on_headers("HX-Request")
def job_updates(request: AuthedRequest) -> HttpResponse:
    """The one poll of an open page: the cards that changed since the page's
    copy (as out-of-band swaps) and, on the project page, the tiles of the
    videos that just finished.

    The query count does not grow with the number of cards. An unchanged page
    costs a 204; once nothing on the page is moving the poller is stopped.
    """
    if not request.htmx:
        # Only the page's poller asks; without JS a reload shows the current state.
        return HttpResponse(status=204)
    sent = _parse_cards(request.GET.getlist("card"))
    # First only what a card's version is made of; whole rows for changed cards.
    rows = (
        Job.objects.filter(public_id__in=sent, team__memberships__user=request.user)
        .values_list("pk", "public_id", "team_id", "status", "progress", "updated_at")
        .annotate(my_role=F("team__memberships__role"))
        if sent
        else []
    )
    rows = list(rows)
    positions = presenters.queue_places(
        {pk: team_id for pk, _, team_id, status, *_ in rows if status in presenters.WAITING}
    )
    stale = {}
    for pk, public_id, _, status, progress, updated_at, role in rows:
        editable = role in EDIT_ROLES
        current = presenters.version(status, progress, updated_at, positions.get(pk), editable)
        if current != sent[public_id]:
            stale[pk] = editable
    changed = []
    if stale:
        jobs = Job.objects.filter(pk__in=stale).select_related(
            "video", "created_by", "source_video__job"
        )
        changed = [
            card_context(job, can_edit=stale[job.pk], position=positions.get(job.pk))
            for job in jobs.order_by("created_at", "id")
        ]
    grid = request.GET.get("grid", "")
    finished = [card["job"] for card in changed if card["job"].status == Status.SUCCEEDED]
    tiles = _new_tiles(request, finished) if grid == presenters.PROJECT_GRID else []
    moving = any(status not in TERMINAL_STATUSES for _, _, _, status, *_ in rows)
    if not changed:
        return HttpResponse(status=204) if moving else HttpResponseStopPolling()
    # No context processors: cards and tiles need none of the page's navigation.
    # htmx sends the page's CSRF token in a header (hx-headers on <body>), so
    # the swapped-in forms need no token of their own.
    context = {
        "changed": changed,
        "tiles": tiles,
        "grid": grid,
        "request": request,
        "page_path": request.htmx.current_url_abs_path or "",
        "csrf_token": "",
    }
    html = render_to_string("studio/job_card.html#updates", context)
    return HttpResponse(html) if moving else HttpResponseStopPolling(html)


@require_safe
def job_detail(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    job = get_job_for_member(request, job_id)
    context = {
        "card": card_context(job, can_edit=member_can_edit(job)),
        "job": job,
        "events": job.events.all(),
        "inputs": job.inputs.select_related("image"),
    }
    return render(request, "studio/job_detail.html", context)


@require_safe
def queue(request: AuthedRequest) -> HttpResponse:
    membership = current_membership_or_404(request)
    groups = gallery_service.team_queue(membership.team)
    edit = membership.can_edit
    return render(
        request,
        "studio/queue.html",
        {
            "team": membership.team,
            "active": cards(groups["active"], can_edit=edit),
            "attention": cards(groups["attention"], can_edit=edit),
            "failed": cards(groups["failed"], can_edit=edit),
        },
    )


def _back(request: AuthedRequest, job: Job) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("job_detail", job_id=job.public_id)


def _act(
    request: AuthedRequest,
    job_id: UUID,
    action: Callable[[Job], Job | None],
    done: str,
) -> HttpResponse:
    job = get_job_for_member(request, job_id, edit=True)
    new_job: Job | None = None
    error = ""
    try:
        new_job = action(job)
    except (job_actions.JobActionError, JobRequestError) as exc:
        error = str(exc)
    else:
        audit.record(request, "job." + getattr(request.resolver_match, "url_name", "")[4:], job)
    job.refresh_from_db()
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return _back(request, job)
    context: dict[str, Any] = {"card": card_context(job, can_edit=True), "error": error}
    if new_job is not None:
        context["new_card"] = card_context(new_job, can_edit=True)
    return render(request, "studio/job_card.html#action-result", context)


@require_POST
@vary_on_headers("HX-Request")
def job_cancel(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    def action(job: Job) -> None:
        job_actions.cancel_job(job, request.user)

    return _act(request, job_id, action, "Job cancelled.")


@require_POST
@vary_on_headers("HX-Request")
def job_retry(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    return _act(
        request,
        job_id,
        lambda job: job_actions.retry_job(job, request.user, idempotency_key=_key(request)),
        "Retrying: a new job with the same inputs is in the queue.",
    )


@require_POST
@vary_on_headers("HX-Request")
def job_resubmit(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    def action(job: Job) -> None:
        job_actions.resubmit_job(job, request.user)

    return _act(request, job_id, action, "Resubmitted: the job goes to the provider again.")


@require_POST
@vary_on_headers("HX-Request")
def job_mark_failed(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    def action(job: Job) -> None:
        job_actions.mark_failed(job, request.user)

    return _act(request, job_id, action, "Marked failed.")


def _key(request: AuthedRequest) -> UUID | None:
    from studio.forms.videos import ActionForm

    form = ActionForm(request.POST)
    return form.cleaned_data["idempotency_key"] if form.is_valid() else None
