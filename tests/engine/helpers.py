"""Ways to measure what the engine makes (its inputs are built in `tests/factories.py`)."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np

from studio.engine.arrays import Array


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


def only_files(folder: Path) -> list[str]:
    """Names in `folder`, hidden temporaries included."""
    return sorted(p.name for p in folder.iterdir())
