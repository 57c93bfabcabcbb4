"""Turn a finished file into a `Video`: probe, poster, thumbnail, storage, lineage.

`store_result` is the one place a job becomes succeeded: the video row and the
transition commit together, so a job never succeeds without its video. When
the media storage fails (`studio.storage.STORAGE_ERRORS`), the error goes to
the caller with nothing stored and the job unchanged, so the step can be tried
again (studio/jobs/poll.py keeps the result upstream and retries the store).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from studio.engine.errors import EngineError
from studio.engine.media import make_poster, make_thumbnail, probe
from studio.jobs.states import transition
from studio.models import Job, Mode, Status, Video, VideoKind
from studio.services import moderation
from studio.services.scenes import place_result
from studio.storage import is_storage_error

log = logging.getLogger(__name__)


class ResultError(Exception):
    """The finished file is unusable (not a video, empty, unreadable)."""


class AlreadyCollected(Exception):
    """Another worker stored this job's video first."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def store_result(job: Job, src: Path, *, content_type: str, media_id: str = "") -> Video | None:
    """Store `src` as the job's video and mark the job succeeded, atomically.

    Returns None when the job already has its video or left the expected
    state meanwhile (another worker collected it first); nothing is left over.
    """
    if src.stat().st_size == 0:
        raise ResultError("The provider returned an empty file.")
    try:
        info = probe(src)
    except EngineError as exc:
        raise ResultError(f"The result is not a playable video: {exc}") from exc
    is_gif = job.mode == Mode.GIF or content_type == "image/gif"
    kind = VideoKind.GIF if is_gif else VideoKind.VIDEO
    ext = "gif" if is_gif else "mp4"
    saved: list[str] = []
    with tempfile.TemporaryDirectory(prefix="studio-result-") as tmp:
        poster_path = Path(tmp) / "poster.jpg"
        thumb_path = Path(tmp) / "thumb.jpg"
        make_poster(src, poster_path)
        make_thumbnail(src, thumb_path)
        video = Video(
            team_id=job.team_id,
            project_id=job.project_id,
            job=job,
            parent=job.source_video,
            kind=kind,
            content_type="image/gif" if is_gif else "video/mp4",
            size_bytes=src.stat().st_size,
            sha256=sha256_of(src),
            duration_seconds=info.duration_seconds,
            width=info.width,
            height=info.height,
            fps=info.fps,
            codec=info.codec,
            has_audio=info.has_audio,
            media_id=media_id[:200],
            created_by_id=job.created_by_id,
        )
        try:
            with src.open("rb") as fh:
                video.file.save(f"{job.public_id}.{ext}", File(fh), save=False)
            saved.append(str(video.file.name))
            with poster_path.open("rb") as fh:
                video.poster.save(f"{job.public_id}-poster.jpg", File(fh), save=False)
            saved.append(str(video.poster.name))
            with thumb_path.open("rb") as fh:
                video.thumbnail.save(f"{job.public_id}-thumb.jpg", File(fh), save=False)
            saved.append(str(video.thumbnail.name))
            with transaction.atomic():
                if Video.objects.filter(job=job).exists():
                    raise AlreadyCollected
                video.hidden_at, video.hidden_root_id = moderation.inherited_hidden(job)
                video.save()
                source = Status.FAILED if job.status == Status.FAILED else None
                reason = (
                    "Late success reconciled after the deadline"
                    if source == Status.FAILED
                    else "Video stored"
                )
                if not transition(
                    job,
                    Status.SUCCEEDED,
                    f"{reason}: {info.width}x{info.height}, {info.duration_seconds:.1f} s",
                    expect=source,
                    progress=100,
                    error_message="",
                    fail_reason="",
                ):
                    raise AlreadyCollected
                place_result(job, video)
        except AlreadyCollected:
            _discard(saved)
            return None
        except Exception:
            _discard(saved)
            raise
    return video


def _discard(names: list[str]) -> None:
    """Remove files of a store that did not complete; best effort (the storage may be down)."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            log.warning("could not delete %s left by an unfinished store: %s", name, exc)
