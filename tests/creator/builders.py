"""Builders for the creator UI's tests: images in memory, jobs, and real small videos."""

from __future__ import annotations

import io
import itertools
import struct
import subprocess
import tempfile
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import imageio_ffmpeg
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from studio.models import Job, JobEvent, Project, Status, Video, VideoKind

_counter = itertools.count(1)


def image_bytes(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    color: Any = (200, 80, 40),
    mode: str = "RGB",
    **save: Any,
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def upload(
    name: str = "photo.png", data: bytes | None = None, content_type: str = "image/png"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else image_bytes(), content_type)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size, with almost no data: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@cache
def mp4_bytes(seconds: float = 1.0, size: str = "160x90", fps: int = 24) -> bytes:
    """A real H.264 clip from the bundled static ffmpeg (a moving test pattern)."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={size}:rate={fps}",
                "-t",
                str(seconds),
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-movflags",
                "+faststart",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


def make_job(
    project: Project,
    user: User | None = None,
    *,
    status: str = Status.SUCCEEDED,
    mode: str = "text2video",
    provider: str = "local",
    model: str = "draft",
    prompt_text: str | None = None,
    **fields: Any,
) -> Job:
    n = next(_counter)
    job = Job.objects.create(
        team=project.team,
        project=project,
        created_by=user,
        provider=provider,
        model=model,
        mode=mode,
        status=status,
        prompt_text=prompt_text if prompt_text is not None else f"A test shot number {n}",
        params={"aspect_ratio": "16:9", "duration_seconds": 4, "seed": n},
        finished_at=timezone.now() if status in ("succeeded", "failed", "cancelled") else None,
        **fields,
    )
    JobEvent.objects.create(job=job, to_status=status, reason="Built for a test")
    return job


def make_video(
    job: Job,
    *,
    data: bytes | None = None,
    parent: Video | None = None,
    kind: str = VideoKind.VIDEO,
    real: bool = False,
    poster: bool = True,
    **fields: Any,
) -> Video:
    if data is None:
        data = mp4_bytes() if real else b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
    video = Video(
        team=job.team,
        project=job.project,
        job=job,
        parent=parent,
        kind=kind,
        content_type="image/gif" if kind == VideoKind.GIF else "video/mp4",
        size_bytes=len(data),
        duration_seconds=1.0,
        width=160,
        height=90,
        fps=24,
        codec="h264",
        created_by=job.created_by,
        **fields,
    )
    ext = "gif" if kind == VideoKind.GIF else "mp4"
    video.file.save(f"{job.public_id}.{ext}", ContentFile(data), save=False)
    if poster:
        video.poster.save(
            f"{job.public_id}-poster.jpg", ContentFile(image_bytes("JPEG")), save=False
        )
        video.thumbnail.save(
            f"{job.public_id}-thumb.jpg", ContentFile(image_bytes("JPEG")), save=False
        )
    video.save()
    return video


def make_output(project: Project, user: User | None = None, **job_fields: Any) -> Video:
    """A succeeded job with its video."""
    real = job_fields.pop("real", False)
    video_fields = {k: job_fields.pop(k) for k in ("hidden_at",) if k in job_fields}
    return make_video(make_job(project, user, **job_fields), real=real, **video_fields)


def media_path(video: Video) -> Path:
    return Path(video.file.path)


def member_client(team: Any, user: User) -> Any:
    """A signed-in client working in `team` (not the user's personal team)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    client.post("/teams/switch/", {"team": str(team.public_id)})
    return client
