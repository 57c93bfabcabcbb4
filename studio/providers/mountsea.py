"""Mountsea's Google Gemini gateway (`https://api.mountsea.ai`, `/gemini/...`).

Contract (see shared/docs/upstream-contracts.md §1): JSON creates answer
`201 {"taskId"}`; one status endpoint serves every task; images travel as
public URLs; the removal mask is an inline base64 JPEG. Where the video URL and
the mediaId sit in a finished task is not documented, so parsing accepts every
shape seen in the wild and the whole answer is kept as `PollResult.raw`.

Upsampling (1080p / 4K / GIF) is left out on purpose: the documented page for
`/video/upsample` was not found and guessing an endpoint would spend money on
requests that cannot work.
"""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from studio.providers.base import (
    MOTION_TYPES,
    EditSource,
    ModelSpec,
    PollResult,
    ProviderError,
    Removal,
    RemovalSource,
    Submission,
    SubmitRequest,
    UpstreamState,
)
from studio.providers.gateway import GatewayProvider
from studio.providers.http import (
    DownloadError,
    failure_reason,
    first_str,
)

GENERATE_PATH = "/gemini/video/generate"
REMOVE_PATH = "/gemini/video/object/remove"
EXTEND_PATH = "/gemini/video/extend"
RESHOOT_PATH = "/gemini/video/reshoot"
INSERT_PATH = "/gemini/video/object/insert"
RESULT_PATH = "/gemini/task/result"

REMOVAL_MODEL = "object_remove"
RESHOOT_MODEL = "reshoot"
INSERT_MODEL = "object_insert"
INGREDIENTS_MODEL = "veo31_fast_ingredients"
# "only VEO 3.1 series supported for extend" (contracts §1.4).
EXTEND_MODELS = ("veo31_fast", "veo31_quality")
MOTION_PREFIX = "RESHOOT_MOTION_TYPE_"

_T2V_I2V = {"text2video": (0, 0), "img2video": (1, 2)}


def _generation_model(name: str, label: str, cost: int, note: str = "") -> ModelSpec:
    extend = {"extend"} if name in EXTEND_MODELS else set()
    return ModelSpec(
        name=name,
        label=label,
        modes=frozenset(_T2V_I2V) | extend,
        image_counts=dict(_T2V_I2V),
        cost=cost,
        note=note,
    )


# Credits are Studio's defaults, roughly in proportion to the gateways' prices;
# operators override them with STUDIO_COSTS ("mountsea:veo31_quality=120").
MODELS: tuple[ModelSpec, ...] = (
    _generation_model("veo2_fast", "Veo 2 Fast", 10),
    _generation_model("veo2_quality", "Veo 2 Quality", 25),
    _generation_model("veo3_fast", "Veo 3 Fast", 30),
    _generation_model("veo3_quality", "Veo 3 Quality", 70),
    _generation_model("veo31_fast", "Veo 3.1 Fast", 40),
    _generation_model("veo31_quality", "Veo 3.1 Quality", 100),
    ModelSpec(
        name=INGREDIENTS_MODEL,
        label="Veo 3.1 Fast (ingredients)",
        modes=frozenset({"ingredients2video"}),
        image_counts={"ingredients2video": (1, 3)},
        cost=45,
        note="One to three reference images of people, objects or styles.",
    ),
    ModelSpec(
        name=REMOVAL_MODEL,
        label="Object removal",
        modes=frozenset({"removal"}),
        aspect_ratios=(),
        cost=40,
        note="Removes the masked object from a video this gateway made.",
    ),
    ModelSpec(
        name=RESHOOT_MODEL,
        label="Reshoot",
        modes=frozenset({"reshoot"}),
        aspect_ratios=(),
        cost=40,
        note="Re-renders a video this gateway made through another camera move.",
    ),
    ModelSpec(
        name=INSERT_MODEL,
        label="Object insertion",
        modes=frozenset({"insert"}),
        aspect_ratios=(),
        cost=40,
        note="Adds the described object to a video this gateway made.",
    ),
)
_MODELS_BY_NAME = {spec.name: spec for spec in MODELS}

# Status words -> our state. The first three are documented waiting states;
# "queued"/"running" are seen in third-party clients.
_STATES: dict[str, UpstreamState] = {
    "pending": "queued",
    "ready": "queued",
    "assigned": "queued",
    "queued": "running",
    "processing": "running",
    "running": "running",
    "completed": "succeeded",
    "failed": "failed",
    "timeout": "failed",
    "cancelled": "cancelled",
}

_URL_KEYS = ("videoUrl", "video_url", "url", "uri", "fileUrl", "downloadUrl")
_URL_LIST_KEYS = ("videoUrls", "video_urls", "urls", "videos")
_MEDIA_KEYS = ("mediaId", "videoId", "mediaGenerationId", "media_id", "id")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def find_video(result: Any) -> tuple[str, str]:
    """(video URL, mediaId) from a task's `result`, whichever shape it has."""
    if _is_url(result):
        return str(result), ""
    if isinstance(result, list):
        for item in result:
            url, media_id = find_video(item)
            if url:
                return url, media_id
        return "", ""
    if not isinstance(result, dict):
        return "", ""
    url = ""
    for key in _URL_KEYS:
        if _is_url(result.get(key)):
            url = str(result[key])
            break
    media_id = first_str(result, *_MEDIA_KEYS)
    if not url:
        for key in (*_URL_LIST_KEYS, "video"):
            nested_url, nested_id = find_video(result.get(key))
            if nested_url:
                url, media_id = nested_url, media_id or nested_id
                break
    return url, media_id


def _mask_base64(path: Path) -> str:
    """The mask as base64 JPEG; a PNG mask from the painter is converted."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProviderError(
            f"the mask file cannot be read ({exc.strerror})", permanent=True, reason="validation"
        ) from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                buffer = io.BytesIO()
                image.convert("L").save(buffer, format="JPEG", quality=95)
                data = buffer.getvalue()
    except (UnidentifiedImageError, OSError):
        raise ProviderError(
            "the mask is not an image", permanent=True, reason="validation"
        ) from None
    return base64.b64encode(data).decode("ascii")


class MountseaProvider(GatewayProvider):
    name = "mountsea"
    label = "Mountsea (Veo)"
    speaker = "Mountsea"
    can_cancel = False
    first_poll_delay = 5.0
    poll_interval = 5.0
    max_poll_interval = 20.0
    deadline = 30 * 60.0
    max_prompt_chars = 4000
    # Enabled when both are set; the URL defaults to the public gateway.
    setting_names = ("STUDIO_MOUNTSEA_URL", "STUDIO_MOUNTSEA_KEY")
    removal = Removal(
        model=REMOVAL_MODEL,
        label="Mountsea (Veo object removal)",
        name="Mountsea",
        hint="Veo finds the object on the first frame and follows it through the clip.",
        disabled_reason="The Mountsea gateway is not configured on this Studio.",
        first_frame_only=True,
        first_frame_message=(
            "Mountsea tracks the object from the first frame: paint on the first frame "
            "to send the removal there, or use the local engine."
        ),
    )

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        download_timeout: httpx.Timeout | None = None,
    ) -> None:
        url = base_url if base_url is not None else settings.STUDIO_MOUNTSEA_URL
        super().__init__(
            base_url=url.rstrip("/"),
            api_key=api_key if api_key is not None else settings.STUDIO_MOUNTSEA_KEY,
            transport=transport,
            timeout=timeout,
            download_timeout=download_timeout,
        )

    def models(self) -> tuple[ModelSpec, ...]:
        return MODELS

    edit_modes = frozenset({"extend", "reshoot", "insert"})

    def removal_refusal(self, source: RemovalSource) -> str:
        return self._refusal("remove objects from", "removal", source)

    def edit_refusal(self, mode: str, source: EditSource) -> str:
        if mode == "extend":
            if source.made_by != self.name:
                return (
                    "Mountsea can only extend videos it made itself; this one was made elsewhere."
                )
            # Extended videos can be extended again (contracts §1.4); the
            # documented example sends a task id, so that stands in for a mediaId.
            if not (source.media_id or source.task_id):
                return "Mountsea did not report an id for this video, which extend needs."
            return ""
        if mode == "reshoot":
            return self._refusal("reshoot", "a reshoot", source)
        if mode == "insert":
            return self._refusal("insert objects into", "insertion", source)
        return super().edit_refusal(mode, source)

    def _refusal(self, verb: str, noun: str, source: EditSource) -> str:
        # These endpoints take Mountsea's own mediaId and refuse extended videos
        # (contracts §1.4).
        if source.made_by != self.name:
            return "Mountsea can only edit videos it made itself; this one was made elsewhere."
        if source.extended:
            return f"Mountsea cannot {verb} extended videos."
        if not source.media_id:
            return f"Mountsea did not report this video's mediaId, which {noun} needs."
        return ""

    # -- submit ----------------------------------------------------------------

    def build_body(self, request: SubmitRequest) -> tuple[str, dict[str, Any]]:
        """The path and JSON body for a request, or a validation ProviderError."""
        spec = _MODELS_BY_NAME.get(request.model)
        if spec is None:
            raise self._invalid(f"Mountsea has no model {request.model!r}")
        if request.mode not in spec.modes:
            raise self._invalid(f"{spec.label} cannot do {request.mode}")
        if len(request.prompt) > self.max_prompt_chars:
            raise self._invalid(
                f"the prompt is {len(request.prompt)} characters; Mountsea takes at most "
                f"{self.max_prompt_chars}"
            )
        if request.mode == "removal":
            return REMOVE_PATH, self._removal_body(request)
        if request.mode == "extend":
            return EXTEND_PATH, self._extend_body(request)
        if request.mode == "reshoot":
            return RESHOOT_PATH, self._reshoot_body(request)
        if request.mode == "insert":
            return INSERT_PATH, self._insert_body(request)
        if not request.prompt.strip():
            raise self._invalid("Mountsea needs a prompt")
        if request.aspect_ratio not in spec.aspect_ratios:
            raise self._invalid(f"Mountsea has no aspect ratio {request.aspect_ratio!r}")
        low, high = spec.images_for(request.mode)
        count = len(request.images)
        if not low <= count <= high:
            wanted = f"{low}" if low == high else f"{low} to {high}"
            raise self._invalid(
                f"{request.mode} on {spec.label} takes {wanted} images, not {count}"
            )
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "action": request.mode,
            "model": request.model,
            "aspectRatio": request.aspect_ratio,
        }
        if count:
            body["imageList"] = self._image_urls(request)
        return GENERATE_PATH, body

    def _image_urls(self, request: SubmitRequest) -> list[str]:
        images = list(request.images)
        if request.mode == "img2video":
            roles = [image.role for image in images]
            if (
                roles.count("start") != 1
                or len(set(roles)) != len(roles)
                or not set(roles) <= {"start", "end"}
            ):
                raise self._invalid(
                    "frames to video takes one start frame and at most one end frame"
                )
            images.sort(key=lambda image: image.role != "start")
        urls = []
        for image in images:
            if not _is_url(image.url):
                raise self._invalid("Mountsea needs a public http(s) link for every image")
            urls.append(image.url)
        return urls

    def _removal_body(self, request: SubmitRequest) -> dict[str, Any]:
        source = request.source_video
        if source is None or not source.media_id:
            raise self._invalid(
                "object removal needs a video made by Mountsea (its mediaId is unknown)"
            )
        if request.mask_path is None:
            raise self._invalid("object removal needs a mask")
        return {
            "videoId": source.media_id,
            "imageMask": _mask_base64(request.mask_path),
            "prompt": request.prompt,
        }

    def _media_id(self, request: SubmitRequest, what: str) -> str:
        source = request.source_video
        if source is None or not source.media_id:
            raise self._invalid(f"{what} needs a video made by Mountsea (its mediaId is unknown)")
        return source.media_id

    def _extend_body(self, request: SubmitRequest) -> dict[str, Any]:
        source = request.source_video
        video_id = source.media_id or source.task_id if source is not None else ""
        if not video_id:
            raise self._invalid("extend needs a video made by Mountsea (its id is unknown)")
        body: dict[str, Any] = {"videoId": video_id, "model": request.model}
        if request.prompt.strip():
            body["prompt"] = request.prompt
        return body

    def _reshoot_body(self, request: SubmitRequest) -> dict[str, Any]:
        motion = str(request.params.get("motion_type", ""))
        if motion not in MOTION_TYPES:
            raise self._invalid(f"Mountsea has no camera move {motion!r}")
        return {
            "videoId": self._media_id(request, "a reshoot"),
            "motionType": MOTION_PREFIX + motion,
        }

    def _insert_body(self, request: SubmitRequest) -> dict[str, Any]:
        video_id = self._media_id(request, "object insertion")
        if not request.prompt.strip():
            raise self._invalid("object insertion needs a prompt saying what to insert")
        body: dict[str, Any] = {"videoId": video_id, "prompt": request.prompt}
        if request.mask_path is not None:
            body["imageMask"] = _mask_base64(request.mask_path)
        return body

    def submit(self, request: SubmitRequest) -> Submission:
        path, body = self.build_body(request)
        return self._create(path, ("taskId", "task_id", "id"), json=body)

    # -- poll ------------------------------------------------------------------

    def poll(self, upstream_id: str) -> PollResult:
        return self.parse_result(self._read_status(RESULT_PATH, {"taskId": upstream_id}))

    def parse_result(self, payload: dict[str, Any]) -> PollResult:
        body = payload
        if "status" not in body and isinstance(body.get("data"), dict):
            body = body["data"]
        word = str(body.get("status") or "").strip()
        status = word.lower()
        state: UpstreamState = _STATES.get(status, "unknown")
        progress = body.get("progress")
        progress = (
            max(0, min(100, int(progress)))
            if isinstance(progress, int | float) and not isinstance(progress, bool)
            else None
        )
        base = PollResult(state=state, upstream_status=word[:60], raw=payload, progress=progress)
        message = self._clean(
            first_str(body, "errorMessage", "error_message", "message", "error")[:500]
        )
        if state == "succeeded":
            url, media_id = find_video(body.get("result"))
            if not url:
                url, media_id = find_video(body)
            if not url:
                return replace(
                    base,
                    state="failed",
                    error_message="Mountsea finished the task but returned no video",
                    fail_reason="no_output",
                    media_id=media_id,
                )
            return replace(base, video_url=url, media_id=media_id)
        if status == "timeout":
            return replace(
                base,
                state="failed",
                error_message=message or "Mountsea gave up on the task (timeout)",
                fail_reason="timeout",
            )
        if state == "failed":
            return replace(
                base,
                state="failed",
                error_message=message or "Mountsea reported the task failed",
                fail_reason=failure_reason(message),
            )
        if state == "cancelled":
            return replace(
                base,
                state="cancelled",
                error_message=message or "Mountsea cancelled the task",
                fail_reason="cancelled_upstream",
            )
        return base

    # -- download --------------------------------------------------------------

    def download(self, upstream_id: str, result: PollResult, dest: Path) -> str:
        url = result.video_url or find_video(result.raw.get("result"))[0]
        if not url:
            raise DownloadError("Mountsea returned no video link", reason="no_output")
        return self._download_link(url, dest)
