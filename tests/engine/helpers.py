"""Media the engine tests make for themselves, and ways to measure what comes out."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

from studio.engine.arrays import Array
from studio.engine.output import H264Writer, ffmpeg_exe


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order."""
    boxes = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def moov_before_mdat(path: Path) -> bool:
    boxes = top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")


def stream_facts(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "audio": [s.codec_context.name for s in container.streams.audio],
        }


def decode_rgb(path: Path) -> list[Array]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def frames_at(path: Path, indices: list[int]) -> list[Array]:
    """RGB frames at the given indices, decoding the clip once."""
    wanted = set(indices)
    found: dict[int, Array] = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                found[index] = frame.to_ndarray(format="rgb24")
            if len(found) == len(wanted):
                break
    return [found[index] for index in indices]


def psnr(a: Array, b: Array) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def mean_abs(a: Array, b: Array) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


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


def save_image(array: Array, path: Path, **params: object) -> Path:
    Image.fromarray(array).save(path, **params)
    return path


def only_files(folder: Path) -> list[str]:
    """Names in `folder`, hidden temporaries included."""
    return sorted(p.name for p in folder.iterdir())
