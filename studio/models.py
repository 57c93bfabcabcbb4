"""Studio's data model.

Every object a creator can reach belongs to a team and is addressed in URLs by
a random UUID (`public_id`), never by its sequential primary key. State changes
happen in `studio.services`, not here.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class Team(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    personal = models.BooleanField(
        default=False, help_text="Made for one user at sign-up; it can still take members."
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.OWNER, Role.EDITOR)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class Project(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=120)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["team", "archived_at", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class Prompt(models.Model):
    """A prompt text; editing an earlier prompt makes a new version linked to it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prompts")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    text = models.TextField()
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="versions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return self.text[:60]


def _team_upload_to(kind: str, instance: Any, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"teams/{instance.team.public_id}/{kind}/{uuid.uuid4().hex}.{ext}"


def reference_upload_to(instance: Any, filename: str) -> str:
    return _team_upload_to("references", instance, filename)


def video_upload_to(instance: Any, filename: str) -> str:
    return _team_upload_to("videos", instance, filename)


def mask_upload_to(instance: Any, filename: str) -> str:
    return _team_upload_to("masks", instance, filename)


class ReferenceImage(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="reference_images")
    file = models.FileField(upload_to=reference_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64, help_text="Of the normalized stored file.")
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    source_video = models.ForeignKey(
        "Video",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="frames_taken",
        help_text="Set when the image is a frame taken from a Studio video.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "sha256"], name="reference_unique_team_hash")
        ]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return self.original_name or str(self.public_id)


class Mode(models.TextChoices):
    TEXT2VIDEO = "text2video", "Text to video"
    IMG2VIDEO = "img2video", "Frames to video"
    INGREDIENTS2VIDEO = "ingredients2video", "Ingredients to video"
    REMOVAL = "removal", "Object removal"
    UPSCALE = "upscale", "Upscale"
    GIF = "gif", "GIF"
    SCENE_EXPORT = "scene_export", "Scene export"
    # Edits (issue 12): each makes a child video of its source.
    EXTEND = "extend", "Extend"
    RESHOOT = "reshoot", "Reshoot"
    INSERT = "insert", "Object insertion"


class Status(models.TextChoices):
    DRAFT = "draft", "Waiting to submit"
    SUBMITTING = "submitting", "Submitting"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"


TERMINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
IN_FLIGHT_STATUSES = frozenset({Status.SUBMITTING, Status.QUEUED, Status.RUNNING})


class FailReason(models.TextChoices):
    UPSTREAM_ERROR = "upstream_error", "The provider reported an error"
    TIMEOUT = "timeout", "Timed out"
    CONTENT_FILTERED = "content_filtered", "Blocked by the provider's safety filter"
    NO_OUTPUT = "no_output", "The provider returned no video"
    VALIDATION = "validation", "Invalid input"
    AUTH = "auth", "Provider credentials were refused"
    QUOTA = "quota", "Provider quota or credits exhausted"
    EXPIRED = "expired", "The result expired before it was collected"
    CANCELLED_UPSTREAM = "cancelled_upstream", "Cancelled by the provider"
    DOWNLOAD = "download", "The result could not be downloaded"
    ENGINE = "engine", "The local engine failed"
    OPERATOR = "operator", "Marked failed by a team member"
    SUSPENDED = "suspended", "The team was suspended before it was sent"


class Job(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="jobs")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=64)
    mode = models.CharField(max_length=20, choices=Mode.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    prompt = models.ForeignKey(
        Prompt, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    prompt_text = models.TextField(blank=True, help_text="The prompt as submitted.")
    params = models.JSONField(
        default=dict, blank=True, help_text="aspect_ratio, duration_seconds, seed, target, fps…"
    )
    source_video = models.ForeignKey(
        "Video",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="derived_jobs",
        help_text="The input video of a removal, upscale or GIF job.",
    )
    mask = models.ForeignKey(
        "Mask", on_delete=models.PROTECT, null=True, blank=True, related_name="jobs"
    )
    cost_credits = models.PositiveIntegerField(default=0)
    # Unique per team (constraint below): a key another team happened to use
    # must not collide with this team's (it gave a 500 when it was global).
    idempotency_key = models.UUIDField(null=True, blank=True)
    rerun_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reruns",
        help_text="The job this one ran again (Run again, Retry): moderation follows it.",
    )
    hidden_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when its video or an ancestor was hidden."
    )
    hidden_root = models.ForeignKey(
        "Video", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(
        null=True, blank=True, help_text="When staff reviewed a safety block."
    )

    upstream_id = models.CharField(max_length=200, blank=True)
    upstream_status = models.CharField(max_length=60, blank=True)
    raw_result = models.JSONField(null=True, blank=True)
    # Storage names a store of its result is writing, noted before the first byte
    # (studio/jobs/results.py): a worker killed mid-store leaves them listed, and
    # the store that succeeds deletes them.
    storing = models.JSONField(default=list, blank=True)
    progress = models.PositiveSmallIntegerField(null=True, blank=True)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    poll_attempts = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker next looks at this job."
    )
    deadline_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    fail_reason = models.CharField(max_length=24, choices=FailReason.choices, blank=True)

    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "upstream_id"],
                condition=~Q(upstream_id=""),
                name="job_unique_upstream_id",
            ),
            models.UniqueConstraint(
                fields=["team", "idempotency_key"], name="job_unique_team_idempotency_key"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="job_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["project", "-created_at"]),
            models.Index(fields=["status", "next_poll_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.public_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class InputRole(models.TextChoices):
    START = "start", "Start frame"
    END = "end", "End frame"
    INGREDIENT = "ingredient", "Ingredient"


class JobInput(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="inputs")
    image = models.ForeignKey(ReferenceImage, on_delete=models.PROTECT, related_name="uses")
    position = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=12, choices=InputRole.choices)
    sha256 = models.CharField(max_length=64, help_text="The image's hash when submitted.")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="jobinput_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.position} of {self.job_id}"


class JobEvent(models.Model):
    """One transition of a job: its timeline."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["job", "created_at"])]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class VideoKind(models.TextChoices):
    VIDEO = "video", "Video"
    GIF = "gif", "GIF"


class Video(models.Model):
    """An output asset in our own storage; `parent` records its lineage."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="videos")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="videos")
    job = models.OneToOneField(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="video"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    kind = models.CharField(max_length=8, choices=VideoKind.choices, default=VideoKind.VIDEO)
    file = models.FileField(upload_to=video_upload_to, max_length=255)
    poster = models.FileField(upload_to=video_upload_to, max_length=255, blank=True)
    thumbnail = models.FileField(upload_to=video_upload_to, max_length=255, blank=True)
    content_type = models.CharField(max_length=40, default="video/mp4")
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    duration_seconds = models.FloatField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0)
    codec = models.CharField(max_length=32, blank=True)
    has_audio = models.BooleanField(default=False)
    media_id = models.CharField(
        max_length=200, blank=True, help_text="The provider's id for editing this video upstream."
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_root = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The video staff hid that withholds this one (itself when hidden directly).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["project", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id}"


class Favourite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "video"], name="favourite_unique_user_video")
        ]

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.video_id}"


class Mask(models.Model):
    """A removal mask at the video's own size: white = remove, black = keep."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="masks")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="masks")
    file = models.FileField(upload_to=mask_upload_to, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frame_seconds = models.FloatField(default=0, help_text="The frame it was painted on.")
    coverage = models.FloatField(help_text="Share of the frame marked for removal, 0-1.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["video", "-created_at"])]

    def __str__(self) -> str:
        return f"Mask {self.public_id} of {self.video_id}"


class WorkerHeartbeat(models.Model):
    """Written by the job scheduler (`studio.jobs.scheduler`); `/healthz` reports its age."""

    name = models.CharField(max_length=60, unique=True)
    pid = models.PositiveIntegerField(default=0)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%H:%M:%S}"


class Report(models.Model):
    """A member's report that a video breaks the rules; moderators resolve it."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["resolved_at", "-created_at"]),
            models.Index(fields=["reporter", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"Report on {self.video_id}"


# Moderation and audit (issue 11): prompt blocklist, its hits, the audit trail.


class BlocklistRule(models.Model):
    """A word or a regular expression that a prompt may not contain; staff edit these."""

    pattern = models.CharField(max_length=200)
    is_regex = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pattern"]

    def __str__(self) -> str:
        return f"/{self.pattern}/" if self.is_regex else self.pattern


class BlocklistHit(models.Model):
    """A submit the prompt blocklist refused, for the review queue."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="blocklist_hits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    prompt_text = models.TextField()
    matched = models.CharField(max_length=200, help_text="The rule that matched.")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["resolved_at", "-created_at"])]

    def __str__(self) -> str:
        return f"Blocklist hit {self.matched!r}"


# -- Members: invitations and share links ------------------------------------------


def new_token() -> str:
    """An unguessable URL token (256 random bits)."""
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    """An owner's offer of a role in a team: nobody joins until they accept.

    By username it is offered to that account only. By email it is a link the
    owner sends to the address (Studio confirms no addresses, so it matches
    none): whoever opens the link signed in may accept it, once.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    username = models.CharField(max_length=150, blank=True, help_text="As the owner typed it.")
    email = models.EmailField(blank=True)
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
        help_text="The account a username invitation was offered to.",
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=~Q(username="") | ~Q(email=""), name="invitation_names_someone"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.username or self.email} to {self.team}"


class ShareLink(models.Model):
    """A view-only public link to one video: its player, poster and prompt, nothing else."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="share_links")
    video = models.ForeignKey("Video", on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live link per video: revoking it and making a new one changes the address.
            models.UniqueConstraint(
                fields=["video"], condition=Q(revoked_at=None), name="sharelink_one_live_per_video"
            )
        ]

    def __str__(self) -> str:
        return f"Share link to {self.video_id}"
        return f"Blocklist hit {self.matched!r}"


class AppendOnly(models.Model):
    """A record that is only ever added to: saving an existing row or deleting one raises."""

    changed_message = "This record is never changed."
    deleted_message = "This record is never deleted."

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError(self.changed_message)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(self.deleted_message)


class AuditEvent(AppendOnly):
    """One state-changing action: append-only (saving an existing row raises)."""

    changed_message = "Audit events are append-only."
    deleted_message = "Audit events are append-only."

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["action", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.object_type} {self.object_id}"


# Credit ledger: budgets and an append-only ledger (issue 11). Changed only by
# `studio.jobs.ledger` (reserve, settle, release) and `studio.services.ledger`
# (budget settings and owners' adjustments).


class BudgetKind(models.TextChoices):
    MONTHLY = "monthly", "A monthly allowance"
    BALANCE = "balance", "A one-off balance"


class TeamBudget(models.Model):
    """What a team may spend. A team without one is not limited (its spend is still recorded)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="budget")
    kind = models.CharField(max_length=10, choices=BudgetKind.choices, default=BudgetKind.BALANCE)
    monthly_allowance = models.PositiveIntegerField(default=0)
    balance = models.IntegerField(default=0, help_text="One-off credits left.")
    period = models.DateField(
        null=True, blank=True, help_text="The month `period_used` counts (its first day)."
    )
    period_used = models.IntegerField(
        default=0, help_text="Credits reserved this month, less releases and top-ups."
    )
    member_monthly_limit = models.PositiveIntegerField(null=True, blank=True)
    max_in_flight = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Budget of {self.team_id}"


class LedgerKind(models.TextChoices):
    RESERVE = "reserve", "Reserved"
    SETTLE = "settle", "Charged"
    RELEASE = "release", "Released (not charged)"
    ADJUSTMENT = "adjustment", "Adjusted by an owner"


class LedgerEntry(AppendOnly):
    """One movement of credits. Rows are only ever added: a mistake is corrected
    by another entry, so the ledger always adds up to the budget."""

    changed_message = "Ledger entries are never changed; add a correcting entry."
    deleted_message = "Ledger entries are never deleted."

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="ledger_entries")
    job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="ledger_entries"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    credits = models.IntegerField(help_text="Positive, except an adjustment that takes away.")
    period = models.DateField(help_text="The month the credits count against.")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["team", "period", "kind"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gte=0) | Q(kind="adjustment"),
                name="ledgerentry_credits_positive",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in LedgerKind]), name="ledgerentry_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.credits} ({self.team_id})"


# Scenes (issue 12): ordered, trimmed shots of a project's videos, exported as one video.


class Scene(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="scenes")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="scenes")
    name = models.CharField(max_length=120)
    crossfade_seconds = models.FloatField(
        default=0, help_text="Length of the crossfade between shots on export; 0 cuts."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["project", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class SceneShot(models.Model):
    """One shot of a scene, or a place held for a job's result.

    While `pending_job` is set the shot waits for that job: with no video yet it
    is the place a "Jump to" result goes; with a video it is a shot an "Extend"
    result replaces.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="shots")
    video = models.ForeignKey(
        Video, on_delete=models.CASCADE, null=True, blank=True, related_name="scene_shots"
    )
    position = models.PositiveIntegerField()
    in_seconds = models.FloatField(default=0)
    out_seconds = models.FloatField(default=0)
    pending_job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="scene_shots"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["scene", "position"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(out_seconds__gte=models.F("in_seconds")), name="sceneshot_trim_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Shot {self.position} of {self.scene_id}"

    @property
    def length_seconds(self) -> float:
        return max(0.0, self.out_seconds - self.in_seconds)


class ExportShot(models.Model):
    """A shot as a scene export rendered it: the export's lineage."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="export_shots")
    # RESTRICT, not PROTECT: a video in an export stays, unless its whole team goes.
    video = models.ForeignKey(Video, on_delete=models.RESTRICT, related_name="exported_in")
    position = models.PositiveSmallIntegerField()
    in_seconds = models.FloatField()
    out_seconds = models.FloatField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="exportshot_unique_position")
        ]

    def __str__(self) -> str:
        return f"Shot {self.position} of export {self.job_id}"
