"""Turn a finished file into a `Video`: probe, poster, thumbnail, storage, lineage.

`store_result` is the one place a job becomes succeeded: the video row and the
transition commit together, so a job never succeeds without its video. When
the media storage fails (`studio.storage.STORAGE_ERRORS`), the error goes to
the caller with nothing stored and the job unchanged, so the step can be tried
again (studio/jobs/poll.py keeps the result upstream and retries the store).

The file names are noted on the job (`Job.storing`) before any byte is written:
a worker killed between writing the files and committing leaves them listed, and
the store that succeeds deletes them, so no stray result stays in storage.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import Error as DbError
from django.db import transaction
from django.db.models.fields.files import FieldFile

from studio.engine.errors import EngineError
from studio.engine.media import make_poster, make_thumbnail, probe
from studio.jobs.states import transition
from studio.models import Job, Mode, Status, Video, VideoKind
from studio.services import moderation
from studio.services.scenes import place_result
from studio.storage import discard

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
    planned: list[str] = []
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
        files = [
            (video.file, f"{job.public_id}.{ext}", src),
            (video.poster, f"{job.public_id}-poster.jpg", poster_path),
            (video.thumbnail, f"{job.public_id}-thumb.jpg", thumb_path),
        ]
        planned = [field.field.generate_filename(video, name) for field, name, _ in files]
        note_storing(job, planned)
        try:
            for (field, _, path), name in zip(files, planned, strict=True):
                save_file(field, name, path)
                saved.append(str(field.name))
            with transaction.atomic():
                if Video.objects.filter(job=job).exists():
                    raise AlreadyCollected
                # Left by stores that died before committing (read under the job's lock).
                row = Job.objects.select_for_update().filter(pk=job.pk)
                leftovers = [n for n in row.values_list("storing", flat=True)[0] if n not in saved]
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
                    storing=[],
                ):
                    raise AlreadyCollected
                place_result(job, video)
                transaction.on_commit(lambda: _discard(leftovers), robust=True)
        except AlreadyCollected:
            kept = _discard(saved)
            forget_storing(job, [name for name in planned if name not in kept])
            return None
        except Exception:
            if not maybe_committed(video):
                # A storage that failed may keep what it took: listed, a later store deletes it.
                kept = _discard(saved)
                forget_storing(job, [name for name in planned if name not in kept])
            raise
    return video


def maybe_committed(video: Video) -> bool:
    """Whether `video` may be stored after all, so its files must stay.

    A database that goes away during COMMIT raises here although the commit may
    have happened: deleting the files then would leave a video without them.
    While the database cannot say, the files stay; they are listed on the job
    (`Job.storing`), so the store that succeeds later deletes them if they are stray.
    """
    if video.pk is None:
        return False
    try:
        return Video.objects.filter(pk=video.pk, file=video.file.name).exists()
    except DbError:
        return True


def save_file(field: FieldFile, name: str, path: Path) -> None:
    """Write `path` to storage as `name` (chosen and noted beforehand); point `field` at it."""
    with path.open("rb") as fh:
        field.name = field.storage.save(name, File(fh), max_length=field.field.max_length)
    setattr(field.instance, field.field.attname, field.name)  # as FieldFile.save does


def note_storing(job: Job, names: list[str]) -> None:
    """List `names` on the job before writing them, in a commit of their own."""
    with transaction.atomic():
        row = Job.objects.select_for_update().filter(pk=job.pk)
        listed = row.values_list("storing", flat=True).first() or []
        row.update(storing=[*listed, *names])


def forget_storing(job: Job, names: list[str]) -> None:
    """This store kept nothing (its files are deleted): unlist its names. Best effort:
    the database may be what failed, and a later store deletes them anyway."""
    try:
        with transaction.atomic():
            row = Job.objects.select_for_update().filter(pk=job.pk)
            listed = row.values_list("storing", flat=True).first() or []
            row.update(storing=[n for n in listed if n not in names])
    except Exception:
        log.warning("could not unlist the result files of job %s", job.pk)


def _discard(names: list[str]) -> list[str]:
    """Remove files of a store that did not complete; best effort (the storage may be down).

    Returns the names still in storage, which stay listed on the job for a later store.
    """
    return [name for name in names if not discard(default_storage, name)]
