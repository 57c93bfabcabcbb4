"""The two documented contracts, as the sandbox checks and answers them.

Mountsea (`/gemini/...`, seeds 000/001 and the task page) validates like a
NestJS service: `{"statusCode", "message": [...], "error"}` on 400. The
OpenAI-format gateway (seed 002) answers `{"error": {"message", "type"}}`.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
from PIL import Image, UnidentifiedImageError

from sandbox.state import UNKNOWN_STATUS, SandboxState, Task
from studio.providers.http import tls_context

MOUNTSEA_ACTIONS = ("text2video", "img2video", "ingredients2video")
MOUNTSEA_MODELS = (
    "veo2_fast",
    "veo2_quality",
    "veo3_fast",
    "veo3_quality",
    "veo31_fast",
    "veo31_quality",
    "veo31_fast_ingredients",
)
MOUNTSEA_RATIOS = ("16:9", "9:16")
MOUNTSEA_GENERATE_FIELDS = {"prompt", "action", "model", "imageList", "aspectRatio", "translation"}
MOUNTSEA_REMOVE_FIELDS = {"videoId", "imageMask", "prompt"}
MOUNTSEA_EXTEND_FIELDS = {"videoId", "model", "prompt"}
MOUNTSEA_EXTEND_MODELS = ("veo31_fast", "veo31_quality")
MOUNTSEA_RESHOOT_FIELDS = {"videoId", "motionType"}
MOUNTSEA_MOTIONS = tuple(
    "RESHOOT_MOTION_TYPE_" + name
    for name in (
        "STATIONARY",
        "STATIONARY_DOWN",
        "STATIONARY_UP",
        "STATIONARY_LEFT_LARGE",
        "STATIONARY_RIGHT_LARGE",
        "STATIONARY_DOLLY_IN_ZOOM_OUT",
        "STATIONARY_DOLLY_OUT_ZOOM_IN_LARGE",
        "DOWN",
        "UP",
        "LEFT_TO_RIGHT",
        "RIGHT_TO_LEFT",
        "FORWARD",
        "BACKWARD",
        "DOLLY_IN_ZOOM_OUT",
        "DOLLY_OUT_ZOOM_IN_LARGE",
    )
)
MOUNTSEA_INSERT_FIELDS = {"videoId", "prompt", "imageMask"}
IMAGE_COUNTS = {"text2video": (0, 0), "img2video": (1, 2), "ingredients2video": (1, 3)}
INGREDIENT_MODELS = ("veo31_fast", "veo31_fast_ingredients")

OPENAI_MODELS = ("veo3.1", "veo3.1-pro")
OPENAI_SECONDS = ("4", "6", "8")
OPENAI_SIZES = ("16:9", "9:16")

MAX_IMAGE_BYTES = 20 * 1024 * 1024
_PHRASES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}


class Reject(Exception):
    """An error answer the handler sends as is."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def mountsea_error(status: int, message: str | list[str]) -> Reject:
    return Reject(
        status,
        {"statusCode": status, "message": message, "error": _PHRASES.get(status, "Error")},
    )


def openai_error(status: int, message: str, kind: str = "invalid_request_error") -> Reject:
    return Reject(status, {"error": {"message": message, "type": kind, "code": None}})


def check_bearer(header: str, key: str) -> bool:
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and token.strip() == key


def check_openai_auth(header: str, key: str) -> bool:
    return header.strip() == key or check_bearer(header, key)


# -- Mountsea ------------------------------------------------------------------


def validate_generate(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise mountsea_error(400, ["request body must be a JSON object"])
    problems = [
        f"property {name} should not exist" for name in body if name not in MOUNTSEA_GENERATE_FIELDS
    ]
    prompt, action, model = body.get("prompt"), body.get("action"), body.get("model")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append("prompt should not be empty")
    if action not in MOUNTSEA_ACTIONS:
        problems.append(
            f"action must be one of the following values: {', '.join(MOUNTSEA_ACTIONS)}"
        )
    if model not in MOUNTSEA_MODELS:
        problems.append(f"model must be one of the following values: {', '.join(MOUNTSEA_MODELS)}")
    ratio = body.get("aspectRatio", "16:9")
    if ratio not in MOUNTSEA_RATIOS:
        problems.append("aspectRatio must be one of the following values: 16:9, 9:16")
    images = body.get("imageList", [])
    if images is None:
        images = []
    if not isinstance(images, list) or not all(isinstance(url, str) for url in images):
        problems.append("imageList must be an array of strings")
        images = []
    if problems:
        raise mountsea_error(400, problems)
    low, high = IMAGE_COUNTS[str(action)]
    if not low <= len(images) <= high:
        raise mountsea_error(
            400, [f"{action} requires {low}-{high} images in imageList, got {len(images)}"]
        )
    if action == "ingredients2video" and model not in INGREDIENT_MODELS:
        raise mountsea_error(400, ["INGREDIENTS2VIDEO only supports veo31_fast"])
    if model == "veo31_fast_ingredients" and action != "ingredients2video":
        raise mountsea_error(400, ["model veo31_fast_ingredients is only for ingredients2video"])
    for url in images:
        if not url.startswith(("http://", "https://")):
            raise mountsea_error(400, ["each value in imageList must be a URL address"])
    return {
        "prompt": prompt,
        "action": action,
        "model": model,
        "aspect_ratio": ratio,
        "images": images,
    }


def fetch_images(urls: list[str]) -> None:
    """Fetch each reference URL like the real service does; 400 if one is not an image."""
    if not urls:
        return
    with httpx.Client(
        timeout=10.0, follow_redirects=True, trust_env=False, verify=tls_context()
    ) as client:
        for index, url in enumerate(urls):
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                raise mountsea_error(
                    400, [f"imageList[{index}] could not be fetched: {type(exc).__name__}"]
                ) from None
            if response.status_code != 200:
                raise mountsea_error(
                    400, [f"imageList[{index}] could not be fetched: HTTP {response.status_code}"]
                )
            if len(response.content) > MAX_IMAGE_BYTES or not image_format(response.content):
                raise mountsea_error(400, [f"imageList[{index}] is not an image"])


def image_format(data: bytes) -> str:
    """Pillow's name for the image format, or "" if the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            return str(image.format or "")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return ""


def validate_removal(body: Any, state: SandboxState, now: float) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise mountsea_error(400, ["request body must be a JSON object"])
    problems = [
        f"property {name} should not exist" for name in body if name not in MOUNTSEA_REMOVE_FIELDS
    ]
    video_id, mask, prompt = body.get("videoId"), body.get("imageMask"), body.get("prompt", "")
    if not isinstance(video_id, str) or not video_id:
        problems.append("videoId should not be empty")
    if not isinstance(mask, str) or not mask:
        problems.append("imageMask should not be empty")
    if not isinstance(prompt, str):
        problems.append("prompt must be a string")
    if problems:
        raise mountsea_error(400, problems)
    try:
        mask_bytes = base64.b64decode(str(mask), validate=True)
    except (binascii.Error, ValueError):
        raise mountsea_error(400, ["imageMask must be a base64 encoded JPEG"]) from None
    if image_format(mask_bytes) != "JPEG":
        raise mountsea_error(400, ["imageMask must be a base64 encoded JPEG"])
    source = finished_source(state, str(video_id), now, by_task=False)
    if source.extended:
        raise mountsea_error(400, ["extended videos cannot be used for removal"])
    return {"prompt": prompt, "video_id": video_id, "mask_bytes": len(mask_bytes)}


def finished_source(state: SandboxState, video_id: str, now: float, *, by_task: bool) -> Task:
    """The finished video a videoId names: a mediaId, or for extend also a task id."""
    source = state.task_for_media(video_id)
    if source is None and by_task:
        source = state.get_task(video_id, "mountsea")
    if (
        source is None
        or source.kind != "mountsea"
        or not source.done(now)
        or source.outcome != "ok"
    ):
        what = "mediaId or taskId" if by_task else "mediaId"
        raise mountsea_error(400, [f"videoId {video_id} is not a finished video ({what})"])
    return source


def _unknown(body: dict[str, Any], allowed: set[str]) -> list[str]:
    return [f"property {name} should not exist" for name in body if name not in allowed]


def validate_extend(body: Any, state: SandboxState, now: float) -> Task:
    if not isinstance(body, dict):
        raise mountsea_error(400, ["request body must be a JSON object"])
    problems = _unknown(body, MOUNTSEA_EXTEND_FIELDS)
    video_id, model, prompt = body.get("videoId"), body.get("model"), body.get("prompt", "")
    if not isinstance(video_id, str) or not video_id:
        problems.append("videoId should not be empty")
    if model not in MOUNTSEA_EXTEND_MODELS:
        problems.append(
            "model must be one of the following values: " + ", ".join(MOUNTSEA_EXTEND_MODELS)
        )
    if not isinstance(prompt, str):
        problems.append("prompt must be a string")
    if problems:
        raise mountsea_error(400, problems)
    # Extended videos can be extended again.
    return finished_source(state, str(video_id), now, by_task=True)


def validate_reshoot(body: Any, state: SandboxState, now: float) -> Task:
    if not isinstance(body, dict):
        raise mountsea_error(400, ["request body must be a JSON object"])
    problems = _unknown(body, MOUNTSEA_RESHOOT_FIELDS)
    video_id, motion = body.get("videoId"), body.get("motionType")
    if not isinstance(video_id, str) or not video_id:
        problems.append("videoId should not be empty")
    if motion not in MOUNTSEA_MOTIONS:
        problems.append(
            "motionType must be one of the following values: " + ", ".join(MOUNTSEA_MOTIONS)
        )
    if problems:
        raise mountsea_error(400, problems)
    source = finished_source(state, str(video_id), now, by_task=False)
    if source.extended:
        raise mountsea_error(400, ["extended videos cannot be used for reshoot"])
    return source


def validate_insert(body: Any, state: SandboxState, now: float) -> tuple[Task, int]:
    """The source video and the mask's size in bytes (0 without one)."""
    if not isinstance(body, dict):
        raise mountsea_error(400, ["request body must be a JSON object"])
    problems = _unknown(body, MOUNTSEA_INSERT_FIELDS)
    video_id, prompt, mask = body.get("videoId"), body.get("prompt"), body.get("imageMask")
    if not isinstance(video_id, str) or not video_id:
        problems.append("videoId should not be empty")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append("prompt should not be empty")
    if mask is not None and not isinstance(mask, str):
        problems.append("imageMask must be a string")
    if problems:
        raise mountsea_error(400, problems)
    source = finished_source(state, str(video_id), now, by_task=False)
    if source.extended:
        raise mountsea_error(400, ["extended videos cannot be used for insertion"])
    if not mask:
        return source, 0
    try:
        mask_bytes = base64.b64decode(str(mask), validate=True)
    except (binascii.Error, ValueError):
        raise mountsea_error(400, ["imageMask must be a base64 encoded JPEG"]) from None
    check_insert_mask(mask_bytes, source)
    return source, len(mask_bytes)


def check_insert_mask(data: bytes, source: Task) -> None:
    """A JPEG at the video's size with some white in it (white = where the object goes)."""
    if image_format(data) != "JPEG":
        raise mountsea_error(400, ["imageMask must be a base64 encoded JPEG"])
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
        brightest = int(np.asarray(image.convert("L")).max())
    wanted = source.frame_size()
    if size != wanted:
        raise mountsea_error(
            400, [f"imageMask is {size[0]}x{size[1]}, the video is {wanted[0]}x{wanted[1]}"]
        )
    if brightest < 128:
        raise mountsea_error(400, ["imageMask is all black: mark where the object goes in white"])


def _iso(monotonic_at: float) -> str:
    wall = time.time() - (time.monotonic() - monotonic_at)
    return (
        datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def mountsea_task_body(
    task: Task, state: SandboxState, now: float, faults: dict[str, str]
) -> dict[str, Any]:
    """The documented `TaskResultDto` for one moment of a task's life."""
    body: dict[str, Any] = {
        "taskId": task.id,
        "status": "",
        "errorMessage": None,
        "errorCode": None,
        "createdAt": _iso(task.created),
        "finishedAt": None,
        "traceId": f"trace-{task.id[:12]}",
    }
    steps = task.steps_done(now)
    if steps < task.STEPS:
        body["status"] = ("pending", "assigned", "processing")[steps]
        if steps == 2 and "unknown_status" in task.flags:
            body["status"] = UNKNOWN_STATUS
    else:
        body["finishedAt"] = _iso(task.finished_at())
        outcome = task.outcome
        if outcome == "fail":
            body.update(
                status="failed",
                errorMessage="Sandbox: the generation failed (fault injected)",
                errorCode=500,
            )
        elif outcome == "timeout":
            body.update(
                status="timeout", errorMessage="Sandbox: the task timed out upstream", errorCode=504
            )
        elif outcome == "cancel":
            body.update(status="cancelled", errorMessage="Sandbox: the task was cancelled")
        elif outcome == "no_url":
            body.update(status="completed", result={})
        elif "video_urls" in task.flags:
            body.update(status="completed", result={"videoUrls": [state.file_url(task)]})
        else:
            body.update(
                status="completed",
                result={"videoUrl": state.file_url(task), "mediaId": task.media_id},
            )
    if "unknown_status" in faults:
        body["status"] = UNKNOWN_STATUS
    if "missing_fields" in faults or ("missing_fields" in task.flags and steps >= task.STEPS):
        body = {"taskId": task.id}
    return body


# -- OpenAI format -------------------------------------------------------------


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """A small, exact multipart/form-data parser (the `cgi` module is gone)."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise openai_error(400, "Content-Type must be multipart/form-data")
    boundary = ""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise openai_error(400, "multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    parts: dict[str, Part] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        raw_headers, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise openai_error(400, "malformed multipart body")
        headers = {}
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        name, filename = "", None
        for item in headers.get("content-disposition", "").split(";")[1:]:
            key, _, value = item.strip().partition("=")
            if key == "name":
                name = value.strip('"')
            elif key == "filename":
                filename = value.strip('"')
        if name:
            parts[name] = Part(name, filename, headers.get("content-type", ""), data)
    return parts


def validate_openai_create(parts: dict[str, Part]) -> dict[str, Any]:
    def text(name: str) -> str:
        part = parts.get(name)
        return part.data.decode("utf-8", "replace") if part else ""

    prompt, model = text("prompt"), text("model")
    seconds, size = text("seconds") or "8", text("size") or "16:9"
    if not prompt.strip():
        raise openai_error(400, "prompt is required")
    if model not in OPENAI_MODELS:
        raise openai_error(400, f"model must be one of {', '.join(OPENAI_MODELS)}, not {model!r}")
    if seconds not in OPENAI_SECONDS:
        raise openai_error(400, f"seconds must be one of 4, 6, 8, not {seconds!r}")
    if size not in OPENAI_SIZES:
        raise openai_error(400, f"size must be 16:9 or 9:16, not {size!r}")
    reference = parts.get("input_reference")
    summary: dict[str, Any] = {"prompt": prompt, "model": model, "seconds": seconds, "size": size}
    if reference is not None:
        fmt = image_format(reference.data)
        if not fmt:
            raise openai_error(400, "input_reference must be an image")
        summary["input_reference"] = {
            "filename": reference.filename,
            "content_type": reference.content_type,
            "bytes": len(reference.data),
            "format": fmt,
        }
    return summary


def openai_video_body(task: Task, now: float, faults: dict[str, str]) -> dict[str, Any]:
    wall_created = int(time.time() - (now - task.created))
    body: dict[str, Any] = {
        "id": task.id,
        "object": "video",
        "model": task.model,
        "status": "queued",
        "progress": 0,
        "created_at": wall_created,
        "seconds": task.seconds,
        "size": task.aspect_ratio,
    }
    steps = task.steps_done(now)
    if steps >= task.STEPS:
        body["completed_at"] = wall_created + int(task.STEPS * task.step)
        outcome = task.outcome
        if outcome in ("fail", "timeout"):
            message = (
                "Sandbox: the generation failed (fault injected)"
                if outcome == "fail"
                else "Sandbox: the task timed out upstream"
            )
            body.update(status="failed", progress=100, error={"message": message, "code": outcome})
        elif outcome == "cancel":
            body.update(status="cancelled")
        else:
            body.update(status="completed", progress=100)
    elif steps >= 1:
        body.update(status="in_progress", progress=task.progress(now))
        if "unknown_status" in task.flags:
            body["status"] = UNKNOWN_STATUS
    if "unknown_status" in faults:
        body["status"] = UNKNOWN_STATUS
    if "missing_fields" in faults or ("missing_fields" in task.flags and steps >= task.STEPS):
        body = {"id": task.id, "object": "video"}
    return body
