"""The staff review queue: reports, safety blocks and blocklist hits, and what staff do about them.

Every action is a POST from a form on the queue page; a second click on the
same action (or a colleague's at the same moment) gets a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from studio.forms.moderation import BlocklistRuleForm, NoteForm, RuleOffForm
from studio.models import BlocklistHit, BlocklistRule, FailReason, Job, Team, Video
from studio.services import moderation
from studio.typing import AuthedRequest

View = Callable[..., HttpResponse]


def staff_only(view: View) -> View:
    @wraps(view)
    def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Only Studio's staff can moderate.")
        return view(request, *args, **kwargs)

    return wrapped


def _act(request: AuthedRequest, step: Callable[[], Any], done: str) -> HttpResponse:
    try:
        step()
    except moderation.ModerationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("review_queue")


@require_safe
@staff_only
def review_queue(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "studio/review_queue.html",
        {"queue": moderation.review_queue(), "rule_form": BlocklistRuleForm()},
    )


def _video(video_id: UUID) -> Video:
    return get_object_or_404(Video.objects.select_related("team"), public_id=video_id)


@require_POST
@staff_only
def video_hide(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = _video(video_id)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""

    def step() -> None:
        derived = moderation.hide_video(video, request, note)
        if derived:
            messages.info(request, f"{derived} video(s) made from it are hidden with it.")

    return _act(request, step, "Video hidden.")


@require_POST
@staff_only
def video_restore(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = _video(video_id)
    return _act(request, lambda: moderation.restore_video(video, request), "Video restored.")


@require_POST
@staff_only
def reports_dismiss(request: AuthedRequest, video_id: UUID) -> HttpResponse:
    video = _video(video_id)
    return _act(request, lambda: moderation.dismiss_reports(video, request), "Reports dismissed.")


@require_POST
@staff_only
def blocked_job_dismiss(request: AuthedRequest, job_id: UUID) -> HttpResponse:
    job = get_object_or_404(Job, public_id=job_id, fail_reason=FailReason.CONTENT_FILTERED)
    return _act(request, lambda: moderation.dismiss_blocked_job(job, request), "Marked reviewed.")


@require_POST
@staff_only
def hit_dismiss(request: AuthedRequest, hit_id: UUID) -> HttpResponse:
    hit = get_object_or_404(BlocklistHit, public_id=hit_id)
    return _act(request, lambda: moderation.dismiss_hit(hit, request), "Hit dismissed.")


@require_POST
@staff_only
def user_suspend(request: AuthedRequest, username: str) -> HttpResponse:
    user = get_object_or_404(get_user_model(), username=username)
    return _act(
        request,
        lambda: moderation.suspend_user(user, request),
        f"{username} is suspended and cannot sign in.",
    )


@require_POST
@staff_only
def user_unsuspend(request: AuthedRequest, username: str) -> HttpResponse:
    user = get_object_or_404(get_user_model(), username=username)
    return _act(
        request, lambda: moderation.unsuspend_user(user, request), f"{username} may sign in again."
    )


@require_POST
@staff_only
def team_suspend(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    team = get_object_or_404(Team, public_id=team_id)
    return _act(
        request, lambda: moderation.suspend_team(team, request), f"{team.name} is suspended."
    )


@require_POST
@staff_only
def team_unsuspend(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    team = get_object_or_404(Team, public_id=team_id)
    return _act(
        request,
        lambda: moderation.unsuspend_team(team, request),
        f"{team.name} is no longer suspended.",
    )


@require_POST
@staff_only
def rule_add(request: AuthedRequest) -> HttpResponse:
    form = BlocklistRuleForm(request.POST)
    if not form.is_valid():
        context = {"queue": moderation.review_queue(), "rule_form": form}
        return render(request, "studio/review_queue.html", context)
    data = form.cleaned_data
    moderation.add_rule(data["pattern"], data["is_regex"], data["note"], request)
    messages.success(request, "Blocklist entry added.")
    return redirect("review_queue")


@require_POST
@staff_only
def rule_off(request: AuthedRequest) -> HttpResponse:
    form = RuleOffForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a blocklist entry.")
        return redirect("review_queue")
    rule = get_object_or_404(BlocklistRule, pk=form.cleaned_data["rule"])
    return _act(request, lambda: moderation.deactivate_rule(rule, request), "Entry turned off.")
