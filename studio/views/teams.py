from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from studio.forms.teams import AddMemberForm, RoleForm, SwitchTeamForm, TeamForm
from studio.jobs.actions import credits_summary
from studio.models import Membership, Role
from studio.services import audit
from studio.services import teams as team_service
from studio.typing import AuthedRequest
from studio.views.access import get_team_membership, require_owner


def team_list(request: AuthedRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = team_service.create_team(request.user, form.cleaned_data["name"])
        team_service.switch_team(request, team)
        messages.success(request, f"Team “{team.name}” created. You are its owner.")
        return redirect("team_detail", team_id=team.public_id)
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .order_by("-team__personal", "team__name")
    )
    return render(request, "studio/teams.html", {"memberships": memberships, "form": form})


def team_detail(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    membership = get_team_membership(request, team_id)
    team = membership.team
    members = team.memberships.select_related("user").order_by("user__username")
    return render(
        request,
        "studio/team_detail.html",
        {
            "team": team,
            "my_membership": membership,
            "members": members,
            "add_form": AddMemberForm(),
            "role_choices": Role.choices,
            "credits": credits_summary(team.pk),
        },
    )


@require_POST
def team_switch(request: AuthedRequest) -> HttpResponse:
    form = SwitchTeamForm(request.POST)
    if not form.is_valid():
        raise Http404("No such team.")
    membership = get_team_membership(request, form.cleaned_data["team"])
    team_service.switch_team(request, membership.team)
    messages.info(request, f"You are now working in “{membership.team.name}”.")
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect("home")


@require_POST
def member_add(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    membership = get_team_membership(request, team_id)
    require_owner(membership)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        try:
            added = team_service.add_member(
                membership.team, form.cleaned_data["user"], form.cleaned_data["role"]
            )
        except team_service.TeamError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Added {added.user.get_username()} as {added.role}.")
            audit.record(request, "member.add", added, member=added.user, role=added.role)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("team_detail", team_id=team_id)


def _member_of_team(request: AuthedRequest, team_id: UUID, member_id: UUID) -> Membership:
    membership = get_team_membership(request, team_id)
    require_owner(membership)
    return get_object_or_404(
        Membership.objects.select_related("team", "user"),
        public_id=member_id,
        team=membership.team,
    )


@require_POST
def member_role(request: AuthedRequest, team_id: UUID, member_id: UUID) -> HttpResponse:
    target = _member_of_team(request, team_id, member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("team_detail", team_id=team_id)
    try:
        changed = team_service.change_role(target, form.cleaned_data["role"])
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{changed.user.get_username()} is now {changed.role}.")
        audit.record(request, "member.role", changed, member=changed.user, role=changed.role)
    return redirect("team_detail", team_id=team_id)


@require_POST
def member_remove(request: AuthedRequest, team_id: UUID, member_id: UUID) -> HttpResponse:
    target = _member_of_team(request, team_id, member_id)
    try:
        team_service.remove_member(target)
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
        return redirect("team_detail", team_id=team_id)
    messages.success(request, f"Removed {target.user.get_username()} from {target.team.name}.")
    audit.record(request, "member.remove", target, member=target.user)
    if target.user_id == request.user.pk:
        return redirect("team_list")
    return redirect("team_detail", team_id=team_id)
