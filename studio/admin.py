from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from studio.models import (
    AuditEvent,
    BlocklistHit,
    BlocklistRule,
    ExportShot,
    Favourite,
    Invitation,
    Job,
    JobEvent,
    JobInput,
    LedgerEntry,
    Mask,
    Membership,
    Project,
    Prompt,
    ReferenceImage,
    Report,
    Scene,
    SceneShot,
    ShareLink,
    Team,
    TeamBudget,
    Video,
    WorkerHeartbeat,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "personal", "member_count", "suspended_at", "created_at"]
    list_filter = ["personal", ("suspended_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "public_id", "memberships__user__username"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, obj: Team) -> int:
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "archived_at", "updated_at"]
    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "team__name", "public_id"]
    list_select_related = ["team", "created_by"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["short_text", "project", "team", "parent", "created_by", "created_at"]
    search_fields = ["text", "project__name"]
    list_select_related = ["project", "team", "created_by", "parent"]
    raw_id_fields = ["parent", "project", "team"]

    @admin.display(description="Text")
    def short_text(self, obj: Prompt) -> str:
        return obj.text[:80]


@admin.register(ReferenceImage)
class ReferenceImageAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "team",
        "content_type",
        "width",
        "height",
        "size_bytes",
        "created_at",
    ]
    list_filter = ["content_type"]
    search_fields = ["original_name", "sha256", "team__name", "public_id"]
    list_select_related = ["team"]
    readonly_fields = ["public_id", "sha256", "created_at"]
    raw_id_fields = ["team", "source_video"]


class JobInputInline(admin.TabularInline):
    model = JobInput
    extra = 0
    raw_id_fields = ["image"]


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "reason", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "mode",
        "provider",
        "model",
        "status",
        "team",
        "project",
        "cost_credits",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "mode", "provider", "fail_reason"]
    search_fields = ["public_id", "upstream_id", "prompt_text", "team__name", "project__name"]
    list_select_related = ["team", "project", "created_by"]
    date_hierarchy = "created_at"
    # State changes go through services (the timeline must record them), so the
    # admin shows jobs but does not edit their state.
    readonly_fields = [
        "public_id",
        "status",
        "upstream_id",
        "upstream_status",
        "raw_result",
        "progress",
        "submit_attempts",
        "poll_attempts",
        "next_poll_at",
        "deadline_at",
        "error_message",
        "fail_reason",
        "submitted_at",
        "finished_at",
        "created_at",
        "updated_at",
        "idempotency_key",
    ]
    raw_id_fields = ["team", "project", "prompt", "source_video", "mask", "created_by"]
    inlines = [JobInputInline, JobEventInline]


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ["job", "from_status", "to_status", "reason", "created_at"]
    list_filter = ["to_status"]
    search_fields = ["job__public_id", "reason"]
    list_select_related = ["job"]
    raw_id_fields = ["job"]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "kind",
        "team",
        "project",
        "width",
        "height",
        "duration_seconds",
        "codec",
        "size_bytes",
        "hidden_at",
        "created_at",
    ]
    list_filter = ["kind", "codec", ("hidden_at", admin.EmptyFieldListFilter)]
    search_fields = ["public_id", "media_id", "team__name", "project__name", "job__prompt_text"]
    list_select_related = ["team", "project"]
    date_hierarchy = "created_at"
    readonly_fields = ["public_id", "sha256", "created_at"]
    raw_id_fields = ["team", "project", "job", "parent", "created_by"]


@admin.register(Mask)
class MaskAdmin(admin.ModelAdmin):
    list_display = ["public_id", "video", "team", "width", "height", "coverage", "created_at"]
    search_fields = ["public_id", "video__public_id", "team__name"]
    list_select_related = ["video", "team"]
    raw_id_fields = ["team", "video", "created_by"]


@admin.register(Favourite)
class FavouriteAdmin(admin.ModelAdmin):
    list_display = ["user", "video", "created_at"]
    search_fields = ["user__username", "video__public_id"]
    raw_id_fields = ["user", "video"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "pid", "beat_at"]


@admin.register(JobInput)
class JobInputAdmin(admin.ModelAdmin):
    list_display = ["job", "position", "role", "image"]
    list_filter = ["role"]
    search_fields = ["job__public_id", "image__original_name"]
    list_select_related = ["job", "image"]
    raw_id_fields = ["job", "image"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["video", "reporter", "short_reason", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["reason", "video__public_id", "reporter__username"]
    list_select_related = ["video", "reporter"]
    raw_id_fields = ["video", "reporter"]
    date_hierarchy = "created_at"

    @admin.display(description="Reason")
    def short_reason(self, obj: Report) -> str:
        return obj.reason[:80]


# -- Members: invitations and share links -------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["team", "username", "email", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter)]
    search_fields = ["team__name", "username", "email"]
    list_select_related = ["team"]
    raw_id_fields = ["team", "invitee", "invited_by", "accepted_by"]
    exclude = ["token"]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["video", "team", "created_by", "created_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["team__name", "video__public_id"]
    list_select_related = ["video", "team", "created_by"]
    raw_id_fields = ["video", "team", "created_by"]
    exclude = ["token"]


# Append-only records: readable here, never added, changed or deleted.


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# Moderation and audit (issue 11). The audit trail is read-only here as everywhere.


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "object_type", "object_id", "team"]
    list_filter = ["action"]
    search_fields = ["actor_name", "action", "object_id"]
    list_select_related = ["team"]
    date_hierarchy = "created_at"


@admin.register(BlocklistRule)
class BlocklistRuleAdmin(admin.ModelAdmin):
    list_display = ["pattern", "is_regex", "active", "note", "created_at"]
    list_filter = ["active", "is_regex"]
    search_fields = ["pattern", "note"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(BlocklistHit)
class BlocklistHitAdmin(admin.ModelAdmin):
    list_display = ["matched", "team", "user", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["matched", "prompt_text"]
    list_select_related = ["team", "user"]
    readonly_fields = ["team", "user", "prompt_text", "matched", "created_at"]


# Credit ledger: read-only here. Budgets change on the team's ledger page, which
# records every change as an adjustment; entries are never changed at all.


@admin.register(TeamBudget)
class TeamBudgetAdmin(ReadOnlyAdmin):
    list_display = ["team", "kind", "balance", "monthly_allowance", "period_used", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["team__name"]
    list_select_related = ["team"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "team", "kind", "credits", "member", "job", "note"]
    list_filter = ["kind"]
    search_fields = ["team__name", "member__username", "job__public_id", "note"]
    list_select_related = ["team", "member", "job"]
    date_hierarchy = "created_at"


# Scenes (issue 12)


class SceneShotInline(admin.TabularInline):
    model = SceneShot
    extra = 0
    raw_id_fields = ["video", "pending_job"]


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "team", "crossfade_seconds", "updated_at"]
    search_fields = ["name", "project__name", "team__name", "public_id"]
    list_select_related = ["project", "team"]
    raw_id_fields = ["project", "team", "created_by"]
    inlines = [SceneShotInline]


@admin.register(SceneShot)
class SceneShotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scene", "video", "in_seconds", "out_seconds", "pending_job"]
    search_fields = ["scene__name", "public_id"]
    list_select_related = ["scene", "video", "pending_job"]
    raw_id_fields = ["scene", "video", "pending_job"]


@admin.register(ExportShot)
class ExportShotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "job", "video", "in_seconds", "out_seconds"]
    search_fields = ["job__public_id", "video__public_id"]
    list_select_related = ["job", "video"]
    raw_id_fields = ["job", "video"]
