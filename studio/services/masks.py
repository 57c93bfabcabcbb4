"""Removal masks: validate, normalize and store them; decide where a removal can run.

A mask reaches us from the painter as a base64 JPEG (or as an uploaded image
from a creator without JavaScript). The browser could have sent anything, so
everything is checked again here: it decodes, it has the video's aspect ratio,
it is essentially black and white, it marks something and not everything. It is
then resized to the video's own size with nearest-neighbour sampling,
binarized at 128 and stored as a high-quality JPEG (white = remove), the format
the upstreams take.
"""

from __future__ import annotations

import base64
import binascii
import io
import uuid
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import av
import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.models import Job, Mask, Mode, Status, Video, VideoKind
from studio.providers import registry
from studio.providers.base import RemovalSource
from studio.storage import STORAGE_ERRORS, UNAVAILABLE, UNREADABLE, discard

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from numpy.typing import NDArray

# Uploads bigger than this are refused before anything decodes them.
MAX_MASK_BYTES = 10 * 1024 * 1024
# Refused from the header alone, before decoding (8K is 33 megapixels).
MAX_MASK_PIXELS = 40_000_000
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
ASPECT_TOLERANCE = 0.01
THRESHOLD = 128
# JPEG rings around hard edges: a few grey pixels are expected, a soft brush, a
# feathered mask or a photograph has many. "Grey" is anything well away from
# both black and white.
GREY_LOW, GREY_HIGH = 32, 223
GREY_SHARE_OF_MARKED = 0.05
GREY_SHARE_OF_FRAME = 0.0005
MAX_COVERAGE = 0.99
STORED_JPEG_QUALITY = 95


class MaskError(ValueError):
    """A mask that cannot be used; the message is shown to the creator."""


@dataclass(frozen=True)
class Geometry:
    """What the stored video file says about itself."""

    width: int
    height: int
    duration_seconds: float
    fps: float

    @property
    def frame_seconds(self) -> float:
        return 1 / self.fps if self.fps > 0 else 1 / 24


@dataclass(frozen=True)
class NormalizedMask:
    """A validated mask at the video's size: 255 = remove, 0 = keep."""

    pixels: NDArray[np.uint8]
    coverage: float

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class Route:
    """One place a removal can run, and why not when it cannot."""

    provider: str
    model: str
    label: str
    name: str  # in a sentence: "queued on {name}"
    hint: str = ""
    reason: str = ""
    first_frame_only: bool = False
    first_frame_message: str = ""

    @property
    def available(self) -> bool:
        return not self.reason


# -- the video ---------------------------------------------------------------------


def probe(video: Video) -> Geometry:
    """Read the size, length and frame rate from the stored file itself.

    The mask must match the file the engine or the gateway will edit, so the
    database row is only a fallback for the frame rate and duration.
    """
    if not video.file:
        raise MaskError("This video has no file yet.")
    try:
        with video.file.open("rb") as handle, av.open(handle, mode="r") as container:
            stream = container.streams.video[0]
            width, height = int(stream.codec_context.width), int(stream.codec_context.height)
            fps = float(stream.average_rate or 0) or video.fps
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration or 0) / 1_000_000
            ) or video.duration_seconds
    except STORAGE_ERRORS as exc:
        raise MaskError(UNREADABLE) from exc
    except (OSError, av.FFmpegError, IndexError, ValueError) as exc:
        raise MaskError("The video file cannot be read.") from exc
    if width <= 0 or height <= 0:
        raise MaskError("The video file cannot be read.")
    return Geometry(width, height, float(duration), float(fps))


def refusal(video: Video) -> str:
    """Why no removal can start from this video at all, or "" when one can."""
    if video.kind == VideoKind.GIF:
        return "GIFs cannot be edited. Remove the object from the video the GIF was made from."
    if video.hidden_at is not None:
        return "This video was hidden by a moderator and cannot be edited."
    job = video.job
    if job is not None and job.status != Status.SUCCEEDED:
        return (
            f"This video is not finished (its job is “{job.get_status_display()}”). "
            "Objects can be removed once it has succeeded."
        )
    if not video.file:
        return "This video has no file yet."
    return ""


def _is_extension(job: Job) -> bool:
    # Older gateway jobs recorded an extension in params rather than as the mode.
    return job.mode == "extend" or (job.params or {}).get("action") == "extend"


def routes(video: Video) -> list[Route]:
    """Every provider that offers removal, gateways first, each with why not when it cannot.

    The rules are each provider's own (`Provider.removal`, `removal_refusal`).
    """
    job = video.job
    source = RemovalSource(
        made_by=job.provider if job is not None else "",
        extended=job is not None and _is_extension(job),
        media_id=video.media_id,
    )
    found = []
    for name in registry.PROVIDERS:
        try:
            provider = registry.get_provider(name)
        except ImportError:
            # A provider whose module is missing from this build is simply not offered.
            continue
        offer = provider.removal
        if offer is None:
            continue
        reason = provider.removal_refusal(source)
        if not reason and not provider.is_configured():
            reason = offer.disabled_reason
        found.append(
            (
                not provider.remote,
                Route(
                    provider.name,
                    offer.model,
                    offer.label,
                    offer.name,
                    hint=offer.hint,
                    reason=reason,
                    first_frame_only=offer.first_frame_only,
                    first_frame_message=offer.first_frame_message,
                ),
            )
        )
    # Gateways first: the default route is the first open one.
    return [route for _, route in sorted(found, key=lambda item: item[0])]


def default_route(available: list[Route]) -> Route | None:
    return available[0] if available else None


# -- the mask ----------------------------------------------------------------------


def decode_base64(data: str) -> bytes:
    """Bytes of a base64 image, with or without its `data:image/...;base64,` prefix."""
    data = data.strip()
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        if ";base64" not in header:
            raise MaskError("The mask is not a base64 image.")
    # Checked before decoding so a huge field is never held twice.
    if len(data) > MAX_MASK_BYTES * 4 // 3 + 4:
        raise MaskError(too_big_message())
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise MaskError("The mask is not a base64 image.") from None


def too_big_message() -> str:
    return f"The mask is larger than {MAX_MASK_BYTES // (1024 * 1024)} MB."


def _open(data: bytes) -> Image.Image:
    if len(data) > MAX_MASK_BYTES:
        raise MaskError(too_big_message())
    try:
        # Pillow warns about (and past twice its limit refuses) huge images; our
        # own cap below is far lower, so its warning is noise here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise MaskError("The mask is not an image Studio can read.") from None
    if image.format not in ACCEPTED_FORMATS:
        raise MaskError("The mask must be a JPEG, PNG or WebP image.")
    width, height = image.size
    if width * height > MAX_MASK_PIXELS:
        raise MaskError(f"The mask is {width}x{height}: too many pixels.")
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise MaskError("The mask image is damaged.") from None
    return image


def _luminance(image: Image.Image) -> NDArray[np.uint8]:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent parts of an imported mask are "keep".
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def normalize(data: bytes, geometry: Geometry) -> NormalizedMask:
    """Check one uploaded mask and bring it to the video's own size, black and white."""
    image = _open(data)
    width, height = image.size
    wanted = geometry.width / geometry.height
    if abs(width / height - wanted) / wanted > ASPECT_TOLERANCE:
        raise MaskError(
            f"The mask is {width}x{height} but the video is {geometry.width}x{geometry.height}: "
            "the aspect ratios differ."
        )
    grey = _luminance(image)
    total = grey.size
    marked = int(np.count_nonzero(grey >= GREY_LOW))
    greys = int(np.count_nonzero((grey >= GREY_LOW) & (grey <= GREY_HIGH)))
    if greys > GREY_SHARE_OF_MARKED * marked + GREY_SHARE_OF_FRAME * total:
        raise MaskError(
            "The mask has soft or grey areas. Providers keep only black and white: "
            "paint it with a hard brush, white where the object should go."
        )
    if (width, height) != (geometry.width, geometry.height):
        resized = Image.fromarray(grey).resize(
            (geometry.width, geometry.height), Image.Resampling.NEAREST
        )
        grey = np.asarray(resized, dtype=np.uint8)
    binary = np.where(grey >= THRESHOLD, 255, 0).astype(np.uint8)
    coverage = float(np.count_nonzero(binary)) / binary.size
    if coverage == 0:
        raise MaskError("The mask is empty: paint over the object to remove.")
    if coverage >= MAX_COVERAGE:
        raise MaskError("The mask covers the whole frame: paint only over the object to remove.")
    return NormalizedMask(binary, coverage)


def encode_jpeg(pixels: NDArray[np.uint8], quality: int = STORED_JPEG_QUALITY) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def store(video: Video, mask: NormalizedMask, *, user: User | None, frame_seconds: float) -> Mask:
    stored = Mask(
        team=video.team,
        video=video,
        width=mask.width,
        height=mask.height,
        frame_seconds=frame_seconds,
        coverage=round(mask.coverage, 6),
        created_by=user,
    )
    try:
        stored.file.save("mask.jpg", ContentFile(encode_jpeg(mask.pixels)), save=False)
    except STORAGE_ERRORS as exc:
        raise MaskError(UNAVAILABLE) from exc
    stored.save()
    return stored


def check_route(video: Video, provider: str, frame_seconds: float, geometry: Geometry) -> Route:
    """The chosen route if this removal may go there; MaskError with the reason otherwise."""
    found = next((r for r in routes(video) if r.provider == provider), None)
    if found is None:
        raise MaskError("Choose where the removal runs.")
    if not found.available:
        raise MaskError(found.reason)
    if found.first_frame_only and frame_seconds > geometry.frame_seconds / 2:
        raise MaskError(found.first_frame_message)
    return found


def submit_removal(
    *,
    video: Video,
    user: User,
    provider: str,
    frame_seconds: float,
    prompt: str = "",
    mask: NormalizedMask | None = None,
    reuse: Mask | None = None,
    idempotency_key: uuid.UUID | None = None,
) -> Job:
    """Store the mask (or take an earlier one) and create the removal job, together or not at all.

    Raises MaskError when the video or route refuses, and the job service's
    JobRequestError when it does; either way nothing is kept.
    """
    from studio.jobs import create as jobs

    if idempotency_key is not None:
        # The same form posted twice (a double click, a reload): one job, one mask.
        existing = Job.objects.filter(idempotency_key=idempotency_key, team=video.team).first()
        if existing is not None:
            return existing
    reason = refusal(video)
    if reason:
        raise MaskError(reason)
    geometry = probe(video)
    if reuse is not None:
        if reuse.video_id != video.pk:
            raise MaskError("That mask belongs to another video.")
        frame_seconds = reuse.frame_seconds
    elif mask is None:
        raise MaskError("Paint the object to remove first.")
    route = check_route(video, provider, frame_seconds, geometry)
    stored: Mask | None = None
    try:
        with transaction.atomic():
            if reuse is None:
                assert mask is not None
                stored = store(video, mask, user=user, frame_seconds=frame_seconds)
            job = jobs.create_job(
                project=video.project,
                user=user,
                provider=route.provider,
                model=route.model,
                mode=Mode.REMOVAL,
                prompt_text=prompt,
                params={"frame_seconds": frame_seconds},
                source_video=video,
                mask=stored or reuse,
                idempotency_key=idempotency_key,
            )
            if stored is not None and job.mask_id != stored.pk:
                # The same form won a race in another request after our first
                # look: its job stands, and our mask must not stay behind.
                raise _AlreadySubmitted(job)
    except _AlreadySubmitted as duplicate:
        _delete_file(stored)
        return duplicate.job
    except Exception:
        # The row went with the transaction; its file did not.
        _delete_file(stored)
        raise
    return job


class _AlreadySubmitted(Exception):
    def __init__(self, job: Job) -> None:
        super().__init__(str(job.public_id))
        self.job = job


def _delete_file(mask: Mask | None) -> None:
    if mask is not None and mask.file.name:
        discard(mask.file.storage, mask.file.name)
