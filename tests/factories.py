"""Hand-written builders for test data (no factory library): the suite's one builders module.

Builders make things (people, teams, jobs, videos, images, clips, masks) and drive jobs
through the engine; helpers that measure what comes out live beside the tests that use them
(`tests/engine/helpers.py`).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import struct
import subprocess
import time
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import imageio_ffmpeg
import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageDraw

from studio.engine.arrays import Array
from studio.engine.output import H264Writer, ffmpeg_exe
from studio.jobs.create import create_job
from studio.models import (
    TERMINAL_STATUSES,
    Job,
    JobEvent,
    Membership,
    Mode,
    Project,
    ReferenceImage,
    Role,
    Status,
    Team,
    Video,
    VideoKind,
)
from tests.support.engine import run_due_jobs

PASSWORD = "correct horse battery staple"
CLIP_DIR = Path(__file__).resolve().parents[1] / "test-results" / "clips"
_counter = itertools.count(1)


# People, teams and projects.


def make_user(username: str | None = None, **extra: Any) -> User:
    username = username or f"user{next(_counter)}"
    extra.setdefault("email", f"{username}@example.com")
    user: User = get_user_model().objects.create_user(username, password=PASSWORD, **extra)
    return user


def personal_team(user: User) -> Team:
    return Team.objects.get(personal=True, memberships__user=user)


def make_team(owner: User | None = None, name: str | None = None) -> Team:
    owner = owner or make_user()
    team = Team.objects.create(name=name or f"Team {next(_counter)}")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def add_member(team: Team, user: User | None = None, role: str = Role.EDITOR) -> User:
    user = user or make_user()
    Membership.objects.create(team=team, user=user, role=role)
    return user


def make_project(team: Team, name: str | None = None, user: User | None = None) -> Project:
    return Project.objects.create(
        team=team, name=name or f"Project {next(_counter)}", created_by=user
    )


def member_client(team: Team, user: User) -> Client:
    """A signed-in client working in `team` (not the user's personal team)."""
    client = Client()
    client.force_login(user)
    client.post("/teams/switch/", {"team": str(team.public_id)})
    return client


# Images, in memory or on disk, and masks.


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


def image_file(
    path: Path, fmt: str = "PNG", size: tuple[int, int] = (64, 36), color: Any = (200, 40, 40)
) -> Path:
    path.write_bytes(image_bytes(fmt, size, color))
    return path


def save_image(array: Array, path: Path, **params: object) -> Path:
    Image.fromarray(array).save(path, **params)
    return path


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


def mask_pixels(
    width: int, height: int, boxes: list[tuple[int, int, int, int]] | None = None
) -> np.ndarray:
    """A black frame with white rectangles (x0, y0, x1, y1, both ends included)."""
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


def mask_file(path: Path, fmt: str = "JPEG") -> Path:
    """A 64x36 mask with one white box, the size of `image_file`'s default image."""
    path.write_bytes(encode(mask_pixels(64, 36, boxes=[(20, 10, 39, 25)]), fmt, quality=75))
    return path


def make_reference(team: Team, colour: tuple[int, int, int] = (200, 40, 40)) -> ReferenceImage:
    data = image_bytes("PNG", (320, 180), colour)
    image = ReferenceImage(
        team=team,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="image/png",
        width=320,
        height=180,
        size_bytes=len(data),
        original_name="red.png",
    )
    image.file.save("red.png", ContentFile(data), save=False)
    image.save()
    return image


# Clips: a real H.264 test pattern, or frames of our own.


@cache
def clip_bytes(width: int = 160, height: int = 90, seconds: float = 1.0, fps: int = 24) -> bytes:
    """An H.264 test pattern from the bundled static ffmpeg, kept between runs."""
    CLIP_DIR.mkdir(parents=True, exist_ok=True)
    path = CLIP_DIR / f"testsrc-{width}x{height}-{seconds:g}s-{fps}.mp4"
    if not path.exists():
        tmp = path.with_suffix(f".{next(_counter)}.part.mp4")
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
            capture_output=True,
        )
        tmp.rename(path)
    return path.read_bytes()


def textured(height: int, width: int, seed: int = 1) -> Array:
    """A smooth, photo-like RGB texture (noise at several scales)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((4, 1.0), (8, 0.6), (16, 0.4), (32, 0.25)):
        noise = rng.standard_normal((max(2, height * cells // width), cells, 3)).astype(np.float32)
        out += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    out = (out - out.min()) / (out.max() - out.min())
    return (40 + out * 175).astype(np.uint8)


def write_clip(
    path: Path, frames: list[Array] | Callable[[int], Array], count: int | None = None
) -> Path:
    """Encode RGB frames (a list, or a function of the frame index) to an H.264 MP4."""
    if callable(frames):
        assert count is not None
        items = [frames(i) for i in range(count)]
    else:
        items = frames
    height, width = items[0].shape[:2]
    with H264Writer(path, width, height, crf=10, preset="veryfast") as writer:
        for frame in items:
            writer.write_rgb(np.ascontiguousarray(frame))
    return path


def add_sine_audio(video: Path, dest: Path) -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-f", "lavfi"]
        + ["-i", "sine=frequency=440:sample_rate=48000", "-map", "0:v", "-map", "1:a"]
        + ["-c:v", "copy", "-c:a", "aac", "-shortest", str(dest)],
        check=True,
    )
    return dest


# Jobs and videos.


def make_job(
    project: Project,
    user: User | None = None,
    *,
    status: str = Status.SUCCEEDED,
    mode: str = Mode.TEXT2VIDEO,
    provider: str = "local",
    model: str = "draft",
    prompt_text: str | None = None,
    params: dict[str, Any] | None = None,
    event: bool = True,
    **fields: Any,
) -> Job:
    """A job row as the engine leaves it in `status`, with a first event unless `event=False`."""
    n = next(_counter)
    if params is None:
        params = {"aspect_ratio": "16:9", "duration_seconds": 4, "seed": n}
    job = Job.objects.create(
        team=project.team,
        project=project,
        created_by=user,
        provider=provider,
        model=model,
        mode=mode,
        status=status,
        prompt_text=prompt_text if prompt_text is not None else f"A test shot number {n}",
        params=params,
        finished_at=timezone.now() if status in TERMINAL_STATUSES else None,
        **fields,
    )
    if event:
        JobEvent.objects.create(job=job, to_status=status, reason="Built for a test")
    return job


# Enough MP4-looking bytes for views that serve a file without decoding it.
PLACEHOLDER_MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8


def make_video(
    job: Job,
    *,
    real: bool = False,
    size: tuple[int, int] = (160, 90),
    seconds: float = 1.0,
    data: bytes | None = None,
    parent: Video | None = None,
    kind: str = VideoKind.VIDEO,
    poster: bool = True,
    **fields: Any,
) -> Video:
    """The job's video: a real clip of `size` and `seconds`, or placeholder bytes (the default)."""
    if data is None:
        data = clip_bytes(*size, seconds) if real else PLACEHOLDER_MP4
    video = Video(
        team=job.team,
        project=job.project,
        job=job,
        parent=parent,
        kind=kind,
        content_type="image/gif" if kind == VideoKind.GIF else "video/mp4",
        size_bytes=len(data),
        duration_seconds=seconds,
        width=size[0],
        height=size[1],
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


# What make_output hands to make_video: its keywords, and the Video fields tests set.
VIDEO_FIELDS = frozenset(
    {"real", "size", "seconds", "data", "parent", "kind", "poster", "hidden_at", "media_id"}
)


def make_output(project: Project, user: User | None = None, **fields: Any) -> Video:
    """A job with its video; `make_video`'s keywords go to the video, the rest to the job."""
    video_fields = {k: fields.pop(k) for k in VIDEO_FIELDS if k in fields}
    return make_video(make_job(project, user, **fields), **video_fields)


# The painter's tests draw masks on a real 640x360, 2 s clip.
PAINTER_CLIP: dict[str, Any] = {"real": True, "size": (640, 360), "seconds": 2.0}


# Jobs through the real service and the engine.

REQUESTS: dict[str, dict[str, Any]] = {
    "local": {
        "model": "draft",
        "prompt_text": "A slow pan over a quiet harbour",
        "params": {"aspect_ratio": "16:9", "duration_seconds": 4},
    },
    "mountsea": {
        "model": "veo31_fast",
        "prompt_text": "A paper boat on a rainy street",
        "params": {"aspect_ratio": "16:9"},
    },
    "openai": {
        "model": "veo3.1",
        "prompt_text": "A hummingbird in slow motion",
        "params": {"aspect_ratio": "9:16", "duration_seconds": 4},
    },
}


def request_job(project: Project, user: User, provider: str = "local", **fields: Any) -> Job:
    """A job created as a member creates one (`create_job`), text2video unless told.

    A provider Studio does not know gets a gateway's request, so that only the provider is wrong.
    """
    defaults = REQUESTS.get(provider, REQUESTS["mountsea"])
    request: dict[str, Any] = {"mode": Mode.TEXT2VIDEO, **defaults, **fields}
    return create_job(project=project, user=user, provider=provider, **request)


SETTLED = TERMINAL_STATUSES | {Status.NEEDS_ATTENTION}


def drive(job: Job, *, until: set[str] | frozenset[str] = SETTLED, timeout: float = 60.0) -> Job:
    """Run sweep passes in this process, bringing every wait forward, until the job is `until`.

    A job still short of `until` after `timeout` seconds fails the test.
    """
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.status in until:
            return job
        if time.monotonic() > deadline:
            events = list(job.events.values_list("to_status", "reason"))
            raise AssertionError(f"job still {job.status} after {timeout} s: {events}")
        # A submitting job's next_poll_at is its claim token: moving it would void the claim.
        Job.objects.filter(pk=job.pk, next_poll_at__gt=timezone.now()).exclude(
            status=Status.SUBMITTING
        ).update(next_poll_at=timezone.now())
        run_due_jobs()
        time.sleep(0.05)


def mountsea_video(project: Project, user: User) -> Video:
    """A video generated by the (sandbox) Mountsea gateway, with its mediaId."""
    job = drive(request_job(project, user, "mountsea", prompt_text="a red ball on a beach"))
    assert job.status == Status.SUCCEEDED, job.error_message
    video = Video.objects.get(job=job)
    assert video.media_id
    return video
