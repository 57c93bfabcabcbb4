"""Reusable validators for creator input.

Uploaded images are judged by their content, never by their name or the
browser's content type: Pillow reads the header, which also gives the pixel
size, so a decompression bomb is refused before a single pixel is decoded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.core.files import File
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
ALLOWED_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int


def _human_bytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def check_image_header(stream: IO[bytes] | File, size: int | None = None) -> ImageHeader:
    """Check an uploaded image by content; the stream is left at position 0.

    Raises ValidationError with a sentence a creator can act on.
    """
    if size is None:
        stream.seek(0, 2)
        size = stream.tell()
    if size == 0:
        raise ValidationError("The file is empty.", code="empty")
    if size > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"The file is {_human_bytes(size)}; images can be at most "
            f"{_human_bytes(MAX_IMAGE_BYTES)}.",
            code="too_big",
        )
    stream.seek(0)
    try:
        # Pillow warns (and above twice its limit raises) about huge images; both
        # mean "too many pixels" here, and our own limit is far lower anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                fmt = image.format or ""
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "The image has too many pixels: at most 40 megapixels.", code="too_many_pixels"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationError(
            "This is not a JPEG, PNG or WebP image.", code="not_an_image"
        ) from None
    finally:
        stream.seek(0)
    if fmt not in ALLOWED_IMAGE_FORMATS:
        raise ValidationError(
            f"{fmt or 'This'} files are not accepted: use a JPEG, PNG or WebP image.",
            code="format",
        )
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(
            f"The image is {width} × {height} ({width * height / 1e6:.0f} megapixels); "
            "images can have at most 40 megapixels.",
            code="too_many_pixels",
        )
    if width < 1 or height < 1:
        raise ValidationError("The image has no pixels.", code="empty")
    return ImageHeader(fmt, width, height)
