"""Test videos, Video rows and masks for the painter tests."""

from __future__ import annotations

import io
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from studio.models import Job, Mode, Project, Status, Video

CLIP_DIR = Path(__file__).resolve().parents[2] / "test-results" / "clips"


@cache
def clip_bytes(width: int = 640, height: int = 360, seconds: float = 2.0, fps: int = 24) -> bytes:
    """An H.264 test pattern made with the bundled static ffmpeg (kept between runs)."""
    CLIP_DIR.mkdir(parents=True, exist_ok=True)
    path = CLIP_DIR / f"testsrc-{width}x{height}-{seconds:g}s-{fps}.mp4"
    if not path.exists():
        tmp = path.with_suffix(".part.mp4")
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                str(tmp),
            ],
            check=True,
        )
        tmp.rename(path)
    return path.read_bytes()


def make_video(
    project: Project,
    user: User | None = None,
    *,
    width: int = 640,
    height: int = 360,
    seconds: float = 2.0,
    provider: str = "local",
    model: str = "draft",
    mode: str = Mode.TEXT2VIDEO,
    status: str = Status.SUCCEEDED,
    media_id: str = "",
    params: dict[str, Any] | None = None,
    **extra: Any,
) -> Video:
    """A finished (or not) video of `project`, with its generating job and a real file."""
    job = Job.objects.create(
        team=project.team,
        project=project,
        created_by=user,
        provider=provider,
        model=model,
        mode=mode,
        status=status,
        prompt_text="a red ball on a beach",
        params=params or {},
    )
    data = clip_bytes(width, height, seconds)
    video = Video(
        team=project.team,
        project=project,
        job=job,
        created_by=user,
        width=width,
        height=height,
        duration_seconds=seconds,
        fps=24,
        codec="h264",
        size_bytes=len(data),
        media_id=media_id,
        **extra,
    )
    video.file.save("clip.mp4", ContentFile(data), save=False)
    video.save()
    return video


def mask_pixels(
    width: int, height: int, boxes: list[tuple[int, int, int, int]] | None = None
) -> np.ndarray:
    """A black frame with white rectangles (x0, y0, x1, y1)."""
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    for box in boxes if boxes is not None else [(width // 4, height // 4, width // 2, height // 2)]:
        draw.rectangle(box, fill=255)
    return np.asarray(image)


def encode(pixels: np.ndarray | Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    out = io.BytesIO()
    if fmt == "JPEG":
        options.setdefault("quality", 92)
    image.save(out, fmt, **options)
    return out.getvalue()


def mask_jpeg(width: int = 640, height: int = 360, **kw: Any) -> bytes:
    return encode(mask_pixels(width, height, **kw))
