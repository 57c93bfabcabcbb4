from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from studio.forms.teams import InviteForm, RoleForm, SwitchTeamForm, TeamForm
from studio.models import Invitation, Membership, Role
from studio.services import audit
from studio.services import ledger as ledger_service
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
    context = {
        "memberships": memberships,
        "form": form,
        "invitations": team_service.pending_invitations(request.user),
    }
    return render(request, "studio/teams.html", context)


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
            "invite_form": InviteForm(),
            "invitation_days": settings.STUDIO_INVITATION_DAYS,
            "invitations": team_service.waiting_invitations(team) if membership.is_owner else [],
            "role_choices": Role.choices,
            "credits": ledger_service.totals(team),
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


@require_POST
def invitation_create(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    membership = get_team_membership(request, team_id)
    require_owner(membership)
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("team_detail", team_id=team_id)
    who = form.cleaned_data["who"]
    try:
        invitation = team_service.invite(
            membership.team, request.user, who, form.cleaned_data["role"]
        )
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
    else:
        audit.record(
            request,
            "invitation.create",
            invitation,
            invited=invitation.username or invitation.email,
            role=invitation.role,
        )
        if invitation.email:
            messages.success(
                request,
                f"Invitation for {who} made: send them the link shown under "
                "“Waiting invitations”. It works once, for whoever opens it signed in.",
            )
        else:
            # The same words whether or not an account has that name.
            messages.success(
                request,
                f"Invitation for {who} made. If an account has that name, it will find the "
                "invitation on its Teams page.",
            )
    return redirect("team_detail", team_id=team_id)


@require_POST
def invitation_revoke(request: AuthedRequest, team_id: UUID, invitation_id: UUID) -> HttpResponse:
    membership = get_team_membership(request, team_id)
    require_owner(membership)
    invitation = get_object_or_404(Invitation, public_id=invitation_id, team=membership.team)
    try:
        team_service.revoke_invitation(invitation, request.user)
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
    else:
        audit.record(request, "invitation.revoke", invitation)
        messages.success(
            request, f"Invitation for {invitation.username or invitation.email} revoked."
        )
    return redirect("team_detail", team_id=team_id)


def _invitation(request: AuthedRequest, token: str) -> Invitation:
    invitation = team_service.invitation_for(request.user, token)
    if invitation is None:
        raise Http404("This invitation link is not valid.")
    return invitation


@require_GET
def invitation_detail(request: AuthedRequest, token: str) -> HttpResponse:
    invitation = _invitation(request, token)
    return render(
        request,
        "studio/team_invitation.html",
        {"invitation": invitation, "pending": team_service.is_pending(invitation)},
    )


@require_POST
def invitation_accept(request: AuthedRequest, token: str) -> HttpResponse:
    invitation = _invitation(request, token)
    try:
        joined = team_service.accept_invitation(invitation, request.user)
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
        return redirect("team_list")
    audit.record(request, "invitation.accept", invitation, role=joined.role)
    team_service.switch_team(request, joined.team)
    messages.success(
        request, f"You joined “{joined.team.name}” as {joined.get_role_display().lower()}."
    )
    return redirect("team_detail", team_id=joined.team.public_id)


@require_POST
def invitation_decline(request: AuthedRequest, token: str) -> HttpResponse:
    invitation = _invitation(request, token)
    try:
        team_service.decline_invitation(invitation, request.user)
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
    else:
        audit.record(request, "invitation.decline", invitation)
        messages.info(request, f"You declined the invitation to “{invitation.team.name}”.")
    return redirect("team_list")


@require_POST
def team_leave(request: AuthedRequest, team_id: UUID) -> HttpResponse:
    membership = get_team_membership(request, team_id)
    try:
        team_service.remove_member(membership)
    except team_service.TeamError as exc:
        messages.error(request, str(exc))
        return redirect("team_detail", team_id=team_id)
    audit.record(request, "member.leave", membership, member=request.user)
    messages.success(request, f"You left “{membership.team.name}”.")
    return redirect("team_list")
