"""The team's reference library: store, normalize, deduplicate, delete.

Every stored image is normalized so providers and the engine only ever see
8-bit RGB without metadata:

- EXIF orientation is applied, then all metadata (GPS included) is dropped;
- CMYK, palette, 16-bit and greyscale images become 8-bit RGB;
- transparency is composited on white (no provider honours alpha);
- JPEG sources are stored as JPEG quality 92, PNG and WebP sources as
  lossless PNG, so line art and text do not pick up JPEG artefacts. The PNG
  is written with fast compression: the re-encode is most of an upload's CPU.

The sha256 of the stored bytes identifies an image within a team: uploading
the same picture twice returns the image already in the library.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps

from studio.models import ReferenceImage, Team, Video
from studio.services import moderation
from studio.storage import STORAGE_ERRORS, UNAVAILABLE, discard, is_storage_error, local_copy
from studio.validators import check_image_header

if TYPE_CHECKING:
    from django.contrib.auth.models import User

JPEG_QUALITY = 92
# zlib level 1: a 36-megapixel PNG re-encodes in about a third of the time of
# level 6 (1.6 s instead of 5.9 s of CPU here) for a file about 45 % larger;
# still lossless. Figures: docs/performance.md, "Busy site".
PNG_COMPRESS_LEVEL = 1
THUMB_SIZE = 480


# An upload's image work (decode, normalize, encode: seconds of CPU for a large
# picture) runs on a small pool of threads per process at the lowest CPU
# priority, so pages keep the CPU while uploads are checked (uploads slow down
# when the machine is busy, on purpose). Pillow does this work with
# the GIL released, so the pool's threads rarely hold it. At most
# IMAGE_THREADS pictures are decoded at once per process, which also bounds the
# memory uploads take (about 110 MB per 36-megapixel picture).
IMAGE_THREADS = 2
IMAGE_NICE = 19


def _lower_priority() -> None:
    """Run in each pool thread: on Linux the nice value belongs to the thread alone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IMAGE_NICE)


_image_work = ThreadPoolExecutor(
    max_workers=IMAGE_THREADS, thread_name_prefix="studio-image", initializer=_lower_priority
)


class LibraryError(Exception):
    """A library change that is not allowed; the message is shown to the creator."""


@dataclass(frozen=True)
class StoreResult:
    image: ReferenceImage
    created: bool

    @property
    def message(self) -> str:
        name = self.image.original_name or "The image"
        if self.created:
            return f"{name} added to your library."
        return f"{name} is already in your library."


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale 16- and 32-bit greyscale down to 8 bits instead of clipping it."""
    if image.mode.startswith("I;16") or image.mode == "I":
        array = np.asarray(image, dtype=np.uint32)
        scaled = (np.clip(array, 0, 65535) >> 8).astype(np.uint8)
        return Image.fromarray(scaled, mode="L")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float32)
        return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="L")
    return image


def normalize(image: Image.Image) -> Image.Image:
    """Upright, 8-bit RGB, alpha composited on white."""
    image = ImageOps.exif_transpose(image) or image
    image = _to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "RGBa"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode == "CMYK":
        # Pillow inverts Adobe CMYK JPEGs as it reads them; convert() is then right.
        return image.convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def encode(image: Image.Image, source_format: str) -> tuple[bytes, str, str]:
    """Encode a normalized image: (bytes, content type, extension)."""
    out = io.BytesIO()
    if source_format == "JPEG":
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=False)
        return out.getvalue(), "image/jpeg", "jpg"
    image.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue(), "image/png", "png"


def _store_encoded(
    team: Team,
    user: User | None,
    data: bytes,
    content_type: str,
    ext: str,
    size: tuple[int, int],
    original_name: str,
    source_video: Video | None = None,
) -> StoreResult:
    digest = hashlib.sha256(data).hexdigest()
    existing = ReferenceImage.objects.filter(team=team, sha256=digest).first()
    if existing is not None:
        if source_video is not None and existing.source_video_id is None:
            # The same pixels as an earlier upload: record the frame's origin anyway,
            # so hiding the video also withholds what is made from this image.
            ReferenceImage.objects.filter(pk=existing.pk).update(source_video=source_video)
            existing.source_video = source_video
        return StoreResult(existing, created=False)
    image = ReferenceImage(
        team=team,
        sha256=digest,
        content_type=content_type,
        width=size[0],
        height=size[1],
        size_bytes=len(data),
        original_name=original_name[:255],
        source_video=source_video,
        created_by=user,
    )
    try:
        image.file.save(f"{digest[:16]}.{ext}", ContentFile(data), save=False)
    except STORAGE_ERRORS as exc:
        # Nothing reached the bucket or the database: the upload can simply be tried again.
        raise ValidationError(UNAVAILABLE, code="storage") from exc
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        # The same picture was stored by a concurrent upload a moment ago.
        discard(image.file.storage, str(image.file.name))
        return StoreResult(ReferenceImage.objects.get(team=team, sha256=digest), created=False)
    return StoreResult(image, created=True)


def store_upload(team: Team, user: User | None, stream: IO[bytes] | File, name: str) -> StoreResult:
    """Check, normalize and store one uploaded image.

    Raises ValidationError when the file is not an acceptable image.
    """
    if team.suspended_at is not None:
        raise ValidationError(moderation.SUSPENDED_TEAM, code="suspended")
    header = check_image_header(stream)
    data, content_type, ext, size = _image_work.submit(
        _decode_and_encode, stream, header.format
    ).result()
    return _store_encoded(team, user, data, content_type, ext, size, name)


def _decode_and_encode(
    stream: IO[bytes] | File, source_format: str
) -> tuple[bytes, str, str, tuple[int, int]]:
    """Read the whole picture (a damaged one fails here), normalize and encode it."""
    try:
        with Image.open(stream) as opened:
            opened.load()
            normalized = normalize(opened)
    except (OSError, ValueError, SyntaxError):
        raise ValidationError(
            "The image is damaged and could not be read.", code="damaged"
        ) from None
    return *encode(normalized, source_format), normalized.size


def frame_to_reference(video: Video, at_seconds: float, user: User | None) -> StoreResult:
    """Take one frame of a Studio video into its team's library (as PNG)."""
    from studio.engine.media import extract_frame

    duration = video.duration_seconds or 0
    at = max(0.0, min(at_seconds, duration)) if duration else max(0.0, at_seconds)
    try:
        with local_copy(video.file) as path:
            frame = extract_frame(path, at)
    except Exception as exc:  # the engine reports decode errors in its own types
        if is_storage_error(exc):
            raise LibraryError(UNAVAILABLE) from exc
        raise LibraryError("That frame could not be read from the video.") from exc
    normalized = normalize(frame)
    data, content_type, ext = encode(normalized, "PNG")
    label = f"Frame at {at:.2f} s"
    return _store_encoded(
        video.team, user, data, content_type, ext, normalized.size, label, source_video=video
    )


def last_frame_seconds(video: Video) -> float:
    """A time safely inside the last frame of the video."""
    fps = video.fps or 24.0
    return max(0.0, (video.duration_seconds or 0) - 1.0 / fps)


def delete_reference(image: ReferenceImage) -> None:
    if image.uses.exists():
        raise LibraryError("This image is an input of a job, so it stays for the job's record.")
    storage, name = image.file.storage, image.file.name or ""
    image.delete()
    if name:
        thumb = thumbnail_name(name)

        def remove_files() -> None:
            discard(storage, name)
            discard(storage, thumb)

        transaction.on_commit(remove_files)


def thumbnail_name(file_name: str) -> str:
    folder, _, base = file_name.rpartition("/")
    return f"{folder}/thumbs/{base.rsplit('.', 1)[0]}.jpg"


def ensure_thumbnail(image: ReferenceImage) -> str:
    """The storage name of a small JPEG preview, made on first use."""
    storage = image.file.storage
    name = thumbnail_name(image.file.name or "")
    if storage.exists(name):
        return name
    with image.file.open("rb") as fh, Image.open(fh) as opened:
        opened.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))
        small = opened.convert("RGB")
        small.thumbnail((THUMB_SIZE, THUMB_SIZE))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=82)
    if not storage.exists(name):
        storage.save(name, ContentFile(out.getvalue()))
    return name
