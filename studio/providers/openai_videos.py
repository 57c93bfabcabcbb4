"""Gateways speaking the OpenAI video format (`/v1/videos`) for Veo 3.1.

Contract (shared/docs/upstream-contracts.md §2, seed 002): a multipart create
with `prompt`, `model` (veo3.1 / veo3.1-pro), `seconds` ("4"/"6"/"8"), `size`
(an aspect ratio here, not WxH) and an optional `input_reference` image; the
answer is a video object with an `id`. Status is `GET /v1/videos/{id}` and the
bytes come from `GET /v1/videos/{id}/content`. Gateways use many status words,
so parsing is tolerant. Some want `Authorization: KEY`, others `Bearer KEY`
(STUDIO_OPENAI_VIDEOS_AUTH).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from studio.providers.base import (
    ModelSpec,
    PollResult,
    ProviderError,
    Submission,
    SubmitRequest,
    UpstreamState,
)
from studio.providers.gateway import GatewayProvider
from studio.providers.http import (
    DownloadError,
    download_to_file,
    error_text,
    failure_reason,
)

VIDEOS_PATH = "/v1/videos"
DURATIONS = (4, 6, 8)
_MODES = {"text2video": (0, 0), "img2video": (1, 1)}

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="veo3.1",
        label="Veo 3.1 (gateway)",
        modes=frozenset(_MODES),
        durations=DURATIONS,
        image_counts=dict(_MODES),
        cost=40,
        note="Frames to video takes one start frame; this format has no end frame.",
    ),
    ModelSpec(
        name="veo3.1-pro",
        label="Veo 3.1 Pro (gateway)",
        modes=frozenset(_MODES),
        durations=DURATIONS,
        image_counts=dict(_MODES),
        cost=100,
        note="Frames to video takes one start frame; this format has no end frame.",
    ),
)
_MODELS_BY_NAME = {spec.name: spec for spec in MODELS}

_STATES: dict[str, UpstreamState] = {}
for _words, _state in (
    (("queued", "pending", "submitted", "created", "not_start", "preparing", "unknown"), "queued"),
    (("in_progress", "processing", "running", "generating"), "running"),
    (("completed", "complete", "success", "succeeded", "finished"), "succeeded"),
    (("failed", "failure", "fail", "error", "expired"), "failed"),
    (("cancelled", "canceled"), "cancelled"),
):
    for _word in _words:
        _STATES[_word] = _state  # type: ignore[assignment]


def _progress(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().rstrip("%")
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float):
        return max(0, min(100, int(value)))
    return None


def _video_url(payload: dict[str, Any]) -> str:
    for key in ("video_url", "url", "download_url", "result_url"):
        value = payload.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    for key in ("output", "result", "data"):
        nested = payload.get(key)
        if isinstance(nested, dict):
            found = _video_url(nested)
            if found:
                return found
    return ""


def _failure_reason(body: dict[str, Any], message: str) -> str:
    error = body.get("error")
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    if code.lower() in ("timeout", "deadline_exceeded") or "timed out" in message.lower():
        return "timeout"
    return failure_reason(message)


class OpenAIVideosProvider(GatewayProvider):
    name = "openai"
    label = "OpenAI-format gateway (Veo)"
    speaker = "The video gateway"
    can_cancel = False
    first_poll_delay = 10.0
    poll_interval = 10.0
    max_poll_interval = 20.0
    deadline = 30 * 60.0
    max_prompt_chars = 32000
    # Enabled when the URL and the key are set; AUTH is "bearer" or "raw".
    setting_names = (
        "STUDIO_OPENAI_VIDEOS_URL",
        "STUDIO_OPENAI_VIDEOS_KEY",
        "STUDIO_OPENAI_VIDEOS_AUTH",
    )

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        auth: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        download_timeout: httpx.Timeout | None = None,
    ) -> None:
        url = (base_url if base_url is not None else settings.STUDIO_OPENAI_VIDEOS_URL).rstrip("/")
        super().__init__(
            # Operators paste either the host or the host with /v1.
            base_url=url.removesuffix("/v1"),
            api_key=api_key if api_key is not None else settings.STUDIO_OPENAI_VIDEOS_KEY,
            transport=transport,
            timeout=timeout,
            download_timeout=download_timeout,
        )
        self.auth = str(auth or getattr(settings, "STUDIO_OPENAI_VIDEOS_AUTH", "bearer")).lower()
        if self.auth not in ("bearer", "raw"):
            raise ValueError("auth must be 'bearer' or 'raw'")

    def models(self) -> tuple[ModelSpec, ...]:
        return MODELS

    def _auth(self) -> dict[str, str]:
        value = self._key if self.auth == "raw" else f"Bearer {self._key}"
        return {"Authorization": value}

    def _video_path(self, upstream_id: str) -> str:
        return f"{VIDEOS_PATH}/{quote(upstream_id, safe='')}"

    # -- submit ----------------------------------------------------------------

    def build_form(self, request: SubmitRequest) -> list[tuple[str, Any]]:
        """Multipart parts for a create, or a validation ProviderError.

        Plain fields are `(None, value)` parts, so httpx always sends
        multipart/form-data, as the contract says, even with no image.
        """
        spec = _MODELS_BY_NAME.get(request.model)
        if spec is None:
            raise self._invalid(f"the gateway has no model {request.model!r}")
        if request.mode not in spec.modes:
            raise self._invalid(f"{spec.label} cannot do {request.mode}")
        if not request.prompt.strip():
            raise self._invalid("the gateway needs a prompt")
        if len(request.prompt) > self.max_prompt_chars:
            raise self._invalid(
                f"the prompt is {len(request.prompt)} characters; the gateway takes at most "
                f"{self.max_prompt_chars}"
            )
        if request.aspect_ratio not in spec.aspect_ratios:
            raise self._invalid(f"the gateway has no aspect ratio {request.aspect_ratio!r}")
        if request.duration_seconds is not None and request.duration_seconds not in DURATIONS:
            raise self._invalid(
                f"the gateway makes clips of 4, 6 or 8 seconds, not {request.duration_seconds}"
            )
        low, high = spec.images_for(request.mode)
        if not low <= len(request.images) <= high:
            raise self._invalid(
                f"{request.mode} on {spec.label} takes {high} image(s), not {len(request.images)}"
            )
        fields: list[tuple[str, Any]] = [
            ("prompt", (None, request.prompt)),
            ("model", (None, request.model)),
            ("size", (None, request.aspect_ratio)),
        ]
        if request.duration_seconds is not None:
            fields.append(("seconds", (None, str(request.duration_seconds))))
        for image in request.images:
            if image.role not in ("start", ""):
                raise self._invalid("the gateway takes only a start frame")
            try:
                data = image.path.read_bytes()
            except OSError as exc:
                raise self._invalid(f"the start frame cannot be read ({exc.strerror})") from None
            fields.append(
                ("input_reference", (image.path.name, data, image.content_type or "image/png"))
            )
        return fields

    def submit(self, request: SubmitRequest) -> Submission:
        files = self.build_form(request)
        return self._create(VIDEOS_PATH, ("id", "task_id", "taskId"), files=files)

    # -- poll ------------------------------------------------------------------

    def poll(self, upstream_id: str) -> PollResult:
        return self.parse_video(self._read_status(self._video_path(upstream_id)))

    def parse_video(self, payload: dict[str, Any]) -> PollResult:
        body = payload
        if "status" not in body and isinstance(body.get("data"), dict):
            body = body["data"]
        word = str(body.get("status") or "").strip()
        status = word.lower()
        state = _STATES.get(status, "unknown")
        progress = _progress(body.get("progress"))
        url = _video_url(body)
        upstream_status = word[:60]
        if state == "succeeded":
            return PollResult(
                state="succeeded",
                upstream_status=upstream_status,
                raw=payload,
                progress=100,
                video_url=url,
            )
        if state == "failed":
            message = self._clean(error_text(body.get("error")) or error_text(body))[:500]
            expired = status == "expired"
            return PollResult(
                state="failed",
                upstream_status=upstream_status,
                raw=payload,
                progress=progress,
                error_message=message
                or ("the video expired upstream" if expired else "the gateway reported a failure"),
                fail_reason="expired" if expired else _failure_reason(body, message),
            )
        if state == "cancelled":
            return PollResult(
                state="cancelled",
                upstream_status=upstream_status,
                raw=payload,
                progress=progress,
                error_message="the gateway cancelled the video",
                fail_reason="cancelled_upstream",
            )
        return PollResult(
            state=state, upstream_status=upstream_status, raw=payload, progress=progress
        )

    # -- download --------------------------------------------------------------

    def download(self, upstream_id: str, result: PollResult, dest: Path) -> str:
        client = self._holder.get()
        url = f"{self.base_url}{self._video_path(upstream_id)}/content"
        try:
            return download_to_file(
                client,
                url,
                dest,
                headers=self._auth(),
                trusted_origin=self.base_url,
                timeout=self._download_timeout,
            )
        except DownloadError as exc:
            if exc.status_code == 400:
                # "Task is not completed yet": keep polling, it is not a failure.
                raise ProviderError(
                    self._clean(f"the video is not ready for download yet: {exc.message}"),
                    permanent=False,
                    status_code=400,
                ) from None
            if exc.status_code in (404, 405) and result.video_url:
                # A gateway without /content that hands out a link instead.
                return self._download_link(result.video_url, dest)
            self._redact_error(exc)
            raise
        except ProviderError as exc:
            self._redact_error(exc)
            raise
