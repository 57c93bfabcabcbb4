"""The one interface every provider implements, and the capability types.

A provider is a plain class. Remote providers (the gateways) submit, poll,
download and maybe cancel; the local engine renders in the worker instead
(`remote = False`, `render`). The job engine in `studio.jobs` is the only
caller; providers never touch the database or a job's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

ASPECT_RATIOS = ("16:9", "9:16")

# The edits a provider may take on a finished video (issue 12). Removal keeps
# its own `Removal` offer because the painter routes it; these three are
# declared by each provider's `edit_modes` and its models' `modes`.
EDIT_MODES = ("extend", "reshoot", "insert")

# Camera moves a reshoot takes: Mountsea's documented `motionType` values
# without their `RESHOOT_MOTION_TYPE_` prefix (contracts §1.4), which the local
# engine renders too. Plain `STATIONARY` is left out: the documentation's own
# enum excerpt starts at `STATIONARY_DOWN`, and a camera that does not move is
# no reshoot.
MOTION_TYPES: dict[str, str] = {
    "STATIONARY_DOWN": "Tilt down (camera stays put)",
    "STATIONARY_UP": "Tilt up (camera stays put)",
    "STATIONARY_LEFT_LARGE": "Pan left, wide (camera stays put)",
    "STATIONARY_RIGHT_LARGE": "Pan right, wide (camera stays put)",
    "STATIONARY_DOLLY_IN_ZOOM_OUT": "Dolly zoom in (camera stays put)",
    "STATIONARY_DOLLY_OUT_ZOOM_IN_LARGE": "Dolly zoom out, wide (camera stays put)",
    "DOWN": "Crane down",
    "UP": "Crane up",
    "LEFT_TO_RIGHT": "Track left to right",
    "RIGHT_TO_LEFT": "Track right to left",
    "FORWARD": "Push forward",
    "BACKWARD": "Pull backward",
    "DOLLY_IN_ZOOM_OUT": "Dolly in, zoom out (vertigo)",
    "DOLLY_OUT_ZOOM_IN_LARGE": "Dolly out, zoom in (vertigo, wide)",
}

UpstreamState = Literal["queued", "running", "succeeded", "failed", "cancelled", "unknown"]


class ProviderError(Exception):
    """An upstream call failed.

    `permanent` errors (bad request, auth, not found) are shown to the creator
    and never retried; transient ones (429, 5xx, timeouts on reads) are retried
    with backoff. `reason` is a `studio.models.FailReason` value. The message
    must never contain a key: providers pass it through `redact` first.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        reason: str = "upstream_error",
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.reason = reason
        self.retry_after = retry_after
        self.status_code = status_code


class SubmitOutcomeUnknown(ProviderError):
    """A create call may have reached the gateway: it must not be sent again.

    Raised for read timeouts, connections dropped after the request was sent,
    and 500/502/504 answers to a create. The job goes to needs_attention.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message, permanent=False, status_code=status_code)


class SubmitNotAccepted(ProviderError):
    """A create provably did not start a task: it is safe to send it again.

    Raised for connection refused / DNS failures (nothing reached the gateway)
    and for 429 / 503 refusals.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, permanent=False, retry_after=retry_after, status_code=status_code)


@dataclass(frozen=True)
class ModelSpec:
    """What one model of one provider can do."""

    name: str
    label: str
    modes: frozenset[str]
    aspect_ratios: tuple[str, ...] = ASPECT_RATIOS
    # Empty when the provider fixes the length (Mountsea has no duration field).
    durations: tuple[int, ...] = ()
    # mode -> (min, max) number of input images.
    image_counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Credits per job by mode; `studio.providers.registry.cost` applies overrides.
    cost: int = 0
    note: str = ""

    def images_for(self, mode: str) -> tuple[int, int]:
        return self.image_counts.get(mode, (0, 0))


@dataclass(frozen=True)
class InputImage:
    role: str  # "start", "end" or "ingredient"
    path: Path
    content_type: str
    url: str = ""  # a signed, expiring public link (for gateways that take URLs)


@dataclass(frozen=True)
class SourceVideo:
    path: Path
    width: int
    height: int
    media_id: str = ""  # the provider's id of the video, for upstream edits
    task_id: str = ""  # the upstream task that made it, when the provider made it


@dataclass(frozen=True)
class SceneClip:
    path: Path
    in_seconds: float
    out_seconds: float


@dataclass(frozen=True)
class SubmitRequest:
    job_id: str  # our public id, for logs and idempotency where a gateway supports it
    mode: str
    model: str
    prompt: str
    aspect_ratio: str = "16:9"
    duration_seconds: int | None = None
    seed: int | None = None
    images: tuple[InputImage, ...] = ()
    source_video: SourceVideo | None = None
    mask_path: Path | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # A scene export's shots, in order.
    clips: tuple[SceneClip, ...] = ()


@dataclass(frozen=True)
class Submission:
    upstream_id: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class PollResult:
    state: UpstreamState
    upstream_status: str
    raw: dict[str, Any]
    progress: int | None = None
    video_url: str = ""
    media_id: str = ""
    error_message: str = ""
    fail_reason: str = ""
    retry_after: float | None = None


ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class Removal:
    """How a provider offers object removal on the painter page."""

    model: str
    label: str  # the route's radio label: "Mountsea (Veo object removal)"
    name: str  # in a sentence: "queued on {name}"
    hint: str  # under the label when the route is open
    # Shown instead of the hint when the provider is not configured.
    disabled_reason: str
    # The provider finds the object on the first frame and tracks it from
    # there, so a mask painted on any other frame cannot be sent to it.
    first_frame_only: bool = False
    first_frame_message: str = ""


@dataclass(frozen=True)
class RemovalSource:
    """What an edit route (removal, extend, reshoot, insert) needs to know about the
    video, without the ORM."""

    made_by: str  # the provider of the job that made the video, "" for an upload
    extended: bool
    media_id: str
    task_id: str = ""  # the upstream task that made it (extend falls back to it)


# The same facts serve every edit, not only removal.
EditSource = RemovalSource


class Provider:
    name: ClassVar[str]
    label: ClassVar[str]
    remote: ClassVar[bool] = True
    can_cancel: ClassVar[bool] = False
    # Whether a request's seed reaches the model. Only then is a seed offered,
    # stored and shown: a seed the provider drops cannot reproduce anything.
    takes_seed: ClassVar[bool] = False
    # The Django settings this provider reads; config/settings.py fills each one
    # from the environment variable of the same name and .env.example documents
    # it. `is_configured` says which of them turn the provider on.
    setting_names: ClassVar[tuple[str, ...]] = ()
    # None when the provider cannot remove objects from videos.
    removal: ClassVar[Removal | None] = None
    # Which of EDIT_MODES it takes; its models say which model does each.
    edit_modes: ClassVar[frozenset[str]] = frozenset()
    # Polling: first look after `first_poll_delay`, then every `poll_interval`
    # growing by `backoff` up to `max_poll_interval`; give up after `deadline`.
    first_poll_delay: ClassVar[float] = 5.0
    poll_interval: ClassVar[float] = 5.0
    max_poll_interval: ClassVar[float] = 20.0
    backoff: ClassVar[float] = 1.5
    deadline: ClassVar[float] = 30 * 60.0

    def is_configured(self) -> bool:
        raise NotImplementedError

    def models(self) -> tuple[ModelSpec, ...]:
        raise NotImplementedError

    def removal_refusal(self, source: RemovalSource) -> str:
        """Why this provider cannot remove objects from that video, or "" when it can."""
        return ""

    def edit_refusal(self, mode: str, source: EditSource) -> str:
        """Why this provider cannot make that edit (extend, reshoot, insert) of that
        video, or "" when it can."""
        if mode not in self.edit_modes:
            return f"{self.label} cannot {mode} videos."
        return ""

    # Remote providers.
    def submit(self, request: SubmitRequest) -> Submission:
        raise NotImplementedError

    def poll(self, upstream_id: str) -> PollResult:
        raise NotImplementedError

    def download(self, upstream_id: str, result: PollResult, dest: Path) -> str:
        """Stream the finished video to `dest`; return its content type."""
        raise NotImplementedError

    def cancel(self, upstream_id: str) -> None:
        raise NotImplementedError

    # In-process providers.
    def render(self, request: SubmitRequest, dest: Path, progress: ProgressCallback) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release pooled connections. Safe to call more than once; a no-op by default."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def redact(text: str, *secrets: str) -> str:
    """Remove every secret (and its Bearer form) from text meant for people or logs."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text
