"""Turn a finished file into a `Video`: probe, poster, thumbnail, storage, lineage.

`store_result` is the one place a job becomes succeeded: the video row and the
transition commit together, so a job never succeeds without its video.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile

from studio.engine.errors import EngineError
from studio.engine.media import make_poster, make_thumbnail, probe
from studio.jobs.states import transition
from studio.models import Job, Mode, Status, Video, VideoKind
from studio.services import moderation

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


@contextmanager
def local_copy(field: FieldFile) -> Iterator[Path]:
    """A filesystem path for a stored file, copying it out of remote storage if needed."""
    try:
        yield Path(field.path)
        return
    except NotImplementedError:
        pass
    suffix = Path(field.name or "").suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with field.open("rb") as src:
            shutil.copyfileobj(src, tmp)
        tmp.flush()
        yield Path(tmp.name)


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
        except AlreadyCollected:
            for name in saved:
                default_storage.delete(name)
            return None
        except Exception:
            for name in saved:
                default_storage.delete(name)
            raise
    return video
