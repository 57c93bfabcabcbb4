"""Reading media: probe, frames, posters, thumbnails and guarded image opening.

Shared by the local engine and the job engine's result pipeline (gateway
results get their poster and thumbnail here too). Nothing in this module
imports Django.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.engine.arrays import Array
from studio.engine.errors import EngineError
from studio.engine.output import atomic_output, open_video

logger = logging.getLogger(__name__)

# Checked from the header before any pixel is decoded: a small file can claim
# a huge canvas (a decompression bomb) and exhaust the worker's memory.
MAX_IMAGE_PIXELS = 40_000_000
MIN_IMAGE_SIDE = 16
# Pillow sniffs the content, not the name; anything else is refused unread.
# (Phone JPEGs that Pillow reads as MPO come through the JPEG opener.)
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

POSTER_QUALITY = 90
THUMBNAIL_QUALITY = 85


@dataclass(frozen=True)
class MediaInfo:
    duration_seconds: float
    width: int
    height: int
    fps: float
    codec: str
    has_audio: bool
    frame_count: int

    @property
    def aspect_ratio(self) -> float:
        return self.width / self.height


def probe(path: Path) -> MediaInfo:
    """Duration, size, frame rate, codec and audio presence of a video file."""
    try:
        with open_video(path) as container:
            if not container.streams.video:
                raise EngineError("This file has no video stream.")
            stream = container.streams.video[0]
            context = stream.codec_context
            width, height = context.width, context.height
            if width <= 0 or height <= 0:
                raise EngineError("This video has no picture size.")
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            duration = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            frames = stream.frames
            if not frames:
                frames = sum(1 for packet in container.demux(stream) if packet.size)
            if duration <= 0 and fps > 0:
                duration = frames / fps
            if fps <= 0 and duration > 0:
                fps = frames / duration
            return MediaInfo(
                duration_seconds=duration,
                width=width,
                height=height,
                fps=fps,
                codec=context.name,
                has_audio=bool(container.streams.audio),
                frame_count=frames,
            )
    except EngineError:
        raise
    except (av.FFmpegError, OSError) as exc:
        logger.info("probe failed for %s: %s", path, exc)
        raise EngineError("This file is not a video that can be read.") from exc


# A source that yields less than this share of the length its header promises
# is damaged (typically a truncated upload or download): refuse it rather than
# return a silently shorter result.
COMPLETE_SHARE = 0.9


def check_complete(made_seconds: float, source: MediaInfo) -> None:
    if made_seconds < source.duration_seconds * COMPLETE_SHARE:
        raise EngineError(
            f"The video is damaged: only {made_seconds:.1f} s of its "
            f"{source.duration_seconds:.1f} s could be read."
        )


def last_frame_time(info: MediaInfo) -> float:
    """A time that lands on the clip's last frame with `extract_frame`."""
    step = 1 / info.fps if info.fps > 0 else 0.04
    return max(0.0, info.duration_seconds - step)


def default_poster_time(info: MediaInfo) -> float:
    # A little into the clip: first frames are often black or mid-fade.
    return min(1.0, info.duration_seconds * 0.2)


def extract_frame(video: Path, at_seconds: float) -> Image.Image:
    """The frame shown at `at_seconds` (the last one if the time is past the end), as RGB."""
    try:
        with open_video(video) as container:
            if not container.streams.video:
                raise EngineError("This file has no video stream.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = stream.time_base
            start = float(stream.start_time * time_base) if stream.start_time and time_base else 0
            rate = stream.average_rate or stream.guessed_rate
            half_frame = 0.5 / float(rate) if rate else 0.02
            target = start + max(0.0, at_seconds)
            if time_base is not None and target > start:
                container.seek(int(target / time_base), stream=stream, backward=True)
            found: av.VideoFrame | None = None
            for frame in container.decode(stream):
                found = frame
                if frame.time is not None and frame.time >= target - half_frame:
                    break
            if found is None:
                raise EngineError("No frame could be read from this video.")
            image: Image.Image = found.to_image()
            return image.convert("RGB")
    except EngineError:
        raise
    except (av.FFmpegError, OSError) as exc:
        logger.info("frame extraction failed for %s: %s", video, exc)
        raise EngineError("This file is not a video that can be read.") from exc


def extract_last_frame(video: Path) -> Image.Image:
    return extract_frame(video, last_frame_time(probe(video)))


def make_poster(video: Path, dest: Path, at_seconds: float | None = None) -> None:
    """A full-size JPEG of a frame a little into the clip."""
    if at_seconds is None:
        at_seconds = default_poster_time(probe(video))
    image = extract_frame(video, at_seconds)
    with atomic_output(dest) as out:
        image.save(out.path, format="JPEG", quality=POSTER_QUALITY, optimize=True)


def make_thumbnail(video: Path, dest: Path, width: int = 480) -> None:
    """A JPEG `width` pixels wide (never enlarged) of the poster frame."""
    image = extract_frame(video, default_poster_time(probe(video)))
    if image.width > width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    with atomic_output(dest) as out:
        image.save(out.path, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)


def _open_checked(path: Path) -> Image.Image:
    """Open, size-check, fully decode and orient an image; refuse anything odd."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limits; make that a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=IMAGE_FORMATS)
        with image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                megapixels = MAX_IMAGE_PIXELS // 1_000_000
                raise EngineError(f"This image is larger than {megapixels} megapixels.")
            if min(width, height) < MIN_IMAGE_SIDE:
                raise EngineError("This image is too small.")
            image.load()
            oriented = ImageOps.exif_transpose(image)
            # exif_transpose returns the same object when there is nothing to do.
            return oriented.copy() if oriented is image else oriented
    except EngineError:
        raise
    except UnidentifiedImageError as exc:
        raise EngineError("This file is not an image (JPEG, PNG, WebP, GIF or BMP).") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EngineError("This image is too large to open safely.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        logger.info("image decode failed for %s: %s", path, exc)
        raise EngineError("This image is damaged or incomplete.") from exc


def open_image(path: Path) -> Image.Image:
    """An RGB image upright as its EXIF says; transparency laid on dark grey."""
    image = _open_checked(path)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (24, 24, 28, 255))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    return image.convert("RGB")


def open_mask(path: Path) -> Array:
    """A mask as one grey channel, white = remove; transparent pixels count as keep."""
    image = _open_checked(path)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def image_array(image: Image.Image) -> Array:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def cover_fit(image: Image.Image, width: int, height: int) -> Array:
    """Scale to cover `width` x `height` and crop the centre: no bars, no stretching."""
    scale = max(width / image.width, height / image.height)
    # Clamped: for the side that fits exactly, rounding can put the box a hair
    # outside the picture (-1e-14 for a 94x70 image), which Pillow refuses.
    left = max(0.0, (image.width - width / scale) / 2)
    top = max(0.0, (image.height - height / scale) / 2)
    box = (
        left,
        top,
        min(float(image.width), left + width / scale),
        min(float(image.height), top + height / scale),
    )
    resized = image.resize((width, height), Image.Resampling.LANCZOS, box=box)
    return image_array(resized)
