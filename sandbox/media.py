"""Real media for the sandbox: a small H.264 MP4 and sample images, made once."""

from __future__ import annotations

import functools
import io
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

FPS = 24
SECONDS = 2


def _frame(width: int, height: int, index: int) -> np.ndarray:
    """A moving colour-bar test card, so a player visibly plays something."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    shift = index * 8
    red = np.broadcast_to((x + shift) % 256, (height, width))
    green = np.broadcast_to(y, (height, width))
    blue = np.full((height, width), (index * 5) % 256, dtype=np.float32)
    image = np.stack([red, green, blue], axis=-1).astype(np.uint8)
    # A white square that travels across the frame.
    size = max(8, min(width, height) // 6)
    left = (index % (FPS * SECONDS) * (width - size)) // (FPS * SECONDS)
    top = (height - size) // 2
    image[top : top + size, left : left + size] = 255
    return image


@functools.cache
def sample_mp4(aspect_ratio: str = "16:9", seconds: int = SECONDS) -> bytes:
    """A 640x360 (or 360x640) H.264 MP4 of `seconds` (2 by default), moov at the front."""
    width, height = (360, 640) if aspect_ratio == "9:16" else (640, 360)
    # faststart rewrites the file in a second pass, which needs a real path.
    with tempfile.TemporaryDirectory(prefix="studio-sandbox-") as tmp:
        path = Path(tmp) / "sample.mp4"
        _encode(path, width, height, seconds)
        return path.read_bytes()


def _encode(path: Path, width: int, height: int, seconds: int = SECONDS) -> None:
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as output:
        stream = output.add_stream("libx264", rate=FPS)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30"}
        for index in range(FPS * seconds):
            frame = av.VideoFrame.from_ndarray(_frame(width, height, index), format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)


@functools.cache
def sample_image(fmt: str = "PNG") -> bytes:
    """A 320x180 reference image served at /_sandbox/sample.png (or .jpg)."""
    image = Image.new("RGB", (320, 180), (40, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((120, 50, 200, 130), fill=(240, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
