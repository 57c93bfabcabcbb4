"""The live queue: job cards that poll themselves, and what creators may do to a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from studio.models import FailReason, Job, Mode, Status
from studio.services import gallery as gallery_service
from studio.services import jobs as job_service
from studio.typing import AuthedRequest
from studio.views import text
from studio.views.access import current_membership_or_404
from studio.views.links import link
from studio.views.lookups import can_edit as member_can_edit
from studio.views.lookups import get_job_card_for_member, get_job_for_member

STOP_POLLING = 286  # htmx stops polling on this status


CARD_LINKS = (
    "job_detail",
    "job_card",
    "job_cancel",
    "job_retry",
    "job_resubmit",
    "job_mark_failed",
)
VIDEO_LINKS = ("video_detail", "media_thumbnail")


def card_state(job: Job, *, can_edit: bool) -> dict[str, Any]:
    """The parts of a card that change while it is polled (besides the job's row)."""
    return {
        "can_edit": can_edit,
        "can_cancel": can_edit and job_service.can_cancel(job),
        "position": job_service.queue_position(job),
        "polls": not job.is_terminal,
    }


def card_etag(job: Job, state: dict[str, Any]) -> str:
    """Everything a card shows except the elapsed time, which ticks in the browser."""
    parts = (
        job.pk,
        job.status,
        job.progress,
        job.updated_at.timestamp(),
        state["position"],
        state["can_edit"],
        state["can_cancel"],
    )
    return 'W/"card-' + "-".join(str(part) for part in parts) + '"'


def card_context(
    job: Job, *, can_edit: bool, state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What one job card shows, its words worked out here rather than in the
    template (cards are polled every two seconds). Reads the database only,
    never a provider."""
    video = getattr(job, "video", None)
    urls = {name: link(name, job.public_id) for name in CARD_LINKS}
    if video is not None:
        urls.update((name, link(name, video.public_id)) for name in VIDEO_LINKS)
    title = text.job_title(job)
    credits = job.cost_credits
    return {
        **(state or card_state(job, can_edit=can_edit)),
        "job": job,
        "video": video,
        "urls": urls,
        "status_label": Status(job.status).label,
        "mode_label": Mode(job.mode).label,
        "title": title,
        "short_title": Truncator(title).chars(160),
        "model_label": text.model_label(job),
        "elapsed": text.elapsed(job),
        "started": int(job.created_at.timestamp()),
        "creator": job.created_by.get_username() if job.created_by else "",
        "credits": f"{credits} credit{pluralize(credits)}" if credits else "",
        "fail_label": FailReason(job.fail_reason).label if job.fail_reason else "",
    }


def cards(jobs: list[Job], *, can_edit: bool) -> list[dict[str, Any]]:
    return [card_context(job, can_edit=can_edit) for job in jobs]


@require_safe
@vary_on_headers("HX-Request")
def job_card(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    job = get_job_card_for_member(request, job_id)
    if not request.htmx:
        return redirect("job_detail", job_id=job.public_id)
    state = card_state(job, can_edit=member_can_edit(job))
    etag = card_etag(job, state)
    if request.headers.get("If-None-Match") == etag:
        # Nothing changed since this browser's last poll: it reuses its copy.
        response = HttpResponse(status=304)
    else:
        # No context processors: a card needs none of the page's navigation. Only
        # htmx asks for a card, and htmx sends the page's CSRF token in a header
        # (hx-headers on <body>), so the card's forms need no token of their own.
        context = {
            "card": card_context(job, can_edit=state["can_edit"], state=state),
            "request": request,
            "csrf_token": "",
        }
        response = HttpResponse(
            render_to_string("studio/job_card.html#card", context),
            status=STOP_POLLING if job.is_terminal else 200,
        )
        if job.status == Status.SUCCEEDED:
            response["HX-Trigger"] = "studio:video-ready"
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


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
    except job_service.JobActionError as exc:
        error = str(exc)
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
        job_service.cancel_job(job, request.user)

    return _act(request, job_id, action, "Job cancelled.")


@require_POST
@vary_on_headers("HX-Request")
def job_retry(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    return _act(
        request,
        job_id,
        lambda job: job_service.retry_job(job, request.user, idempotency_key=_key(request)),
        "Retrying: a new job with the same inputs is in the queue.",
    )


@require_POST
@vary_on_headers("HX-Request")
def job_resubmit(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    def action(job: Job) -> None:
        job_service.resubmit_job(job, request.user)

    return _act(request, job_id, action, "Resubmitted: the job goes to the provider again.")


@require_POST
@vary_on_headers("HX-Request")
def job_mark_failed(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    def action(job: Job) -> None:
        job_service.mark_failed(job, request.user)

    return _act(request, job_id, action, "Marked failed.")


def _key(request: AuthedRequest) -> UUID | None:
    from studio.forms.videos import ActionForm

    form = ActionForm(request.POST)
    return form.cleaned_data["idempotency_key"] if form.is_valid() else None
