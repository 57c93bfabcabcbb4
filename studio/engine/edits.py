"""Extend, reshoot and insert an object, offline, as honest drafts of what Veo does.

No model runs here; each edit is real work on the decoded frames:

- extend plays the clip, then continues from its last frame: the camera keeps
  the drift measured between the last two frames (phase correlation), easing
  out, with a slow push-in, so the clip really is longer and still moves;
- reshoot re-renders every frame through a virtual camera (pan, tilt, push,
  pull as crops over time; the dolly zooms as a radial warp), named by the
  same motion types as Mountsea's reshoot;
- insert composites a reference image (or the prompt, typeset) into the
  masked area, or a default place, in every frame, leaving the rest alone.

Frames are streamed (never the whole clip in memory); the source's frame rate,
size and audio are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from studio.engine.arrays import Array
from studio.engine.design import Tag, load_font
from studio.engine.errors import EngineError
from studio.engine.media import MediaInfo, check_complete, open_image, open_mask, probe
from studio.engine.output import (
    H264Writer,
    Progress,
    ProgressCallback,
    atomic_output,
    mux_audio,
    no_progress,
    open_video,
)

EXTEND_SECONDS = 4
# Edits keep someone's finished footage: encode it near-lossless.
EDIT_CRF = 16
# How far the extension pushes in over its length.
EXTEND_PUSH = 0.12
# The drift carried over from the last two frames fades with this factor a frame.
DRIFT_DECAY = 0.97
# A drift estimate below this confidence is noise (a static or flat shot).
DRIFT_CONFIDENCE = 0.2
MAX_DRIFT = 0.02  # of the frame width, per frame
INSERT_DEFAULT_BOX = (0.56, 0.48, 0.92, 0.9)  # left, top, right, bottom, of the frame


@dataclass(frozen=True)
class Camera:
    """A virtual camera: zoom (1 = the whole frame), centre in 0..1, vertigo warp."""

    zoom: float
    x: float = 0.5
    y: float = 0.5
    # Radial warp strength: > 0 widens the edges around a steady centre (dolly
    # in, zoom out), < 0 narrows them.
    vertigo: float = 0.0


W = 1.25  # the spare zoom pans and tilts work inside
WIDE = 1.45  # ... and the "LARGE" ones
MOVES: dict[str, tuple[Camera, Camera]] = {
    "STATIONARY_DOWN": (Camera(W, 0.5, 0.4), Camera(W, 0.5, 0.6)),
    "STATIONARY_UP": (Camera(W, 0.5, 0.6), Camera(W, 0.5, 0.4)),
    "STATIONARY_LEFT_LARGE": (Camera(WIDE, 0.66, 0.5), Camera(WIDE, 0.34, 0.5)),
    "STATIONARY_RIGHT_LARGE": (Camera(WIDE, 0.34, 0.5), Camera(WIDE, 0.66, 0.5)),
    "STATIONARY_DOLLY_IN_ZOOM_OUT": (Camera(W), Camera(W, vertigo=0.2)),
    "STATIONARY_DOLLY_OUT_ZOOM_IN_LARGE": (Camera(1.0), Camera(1.0, vertigo=-0.3)),
    "DOWN": (Camera(W, 0.5, 0.4), Camera(W * 1.06, 0.5, 0.6)),
    "UP": (Camera(W, 0.5, 0.6), Camera(W * 1.06, 0.5, 0.4)),
    "LEFT_TO_RIGHT": (Camera(W, 0.4, 0.5), Camera(W, 0.6, 0.5)),
    "RIGHT_TO_LEFT": (Camera(W, 0.6, 0.5), Camera(W, 0.4, 0.5)),
    "FORWARD": (Camera(1.0), Camera(1.3)),
    "BACKWARD": (Camera(1.3), Camera(1.0)),
    "DOLLY_IN_ZOOM_OUT": (Camera(1.0), Camera(1.3, vertigo=0.25)),
    "DOLLY_OUT_ZOOM_IN_LARGE": (Camera(1.3), Camera(1.0, vertigo=-0.35)),
}


def ease(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _between(a: Camera, b: Camera, t: float) -> Camera:
    s = ease(t)
    return Camera(
        a.zoom + (b.zoom - a.zoom) * s,
        a.x + (b.x - a.x) * s,
        a.y + (b.y - a.y) * s,
        a.vertigo + (b.vertigo - a.vertigo) * s,
    )


class Lens:
    """Renders frames of one size through a `Camera` (output-to-source maps)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        u = np.arange(width, dtype=np.float32) - (width - 1) / 2
        v = np.arange(height, dtype=np.float32) - (height - 1) / 2
        self._u, self._v = np.meshgrid(u, v)
        rho = (self._u / (width / 2)) ** 2 + (self._v / (height / 2)) ** 2
        self._rho2 = (rho / 2).astype(np.float32)  # 0 at the centre, 1 at the corners

    def centre(self, camera: Camera) -> tuple[float, float]:
        half_w, half_h = self.width / camera.zoom / 2, self.height / camera.zoom / 2
        cx = min(max(camera.x * self.width, half_w), self.width - half_w)
        cy = min(max(camera.y * self.height, half_h), self.height - half_h)
        return cx - 0.5, cy - 0.5

    def render(self, frame: Array, camera: Camera, shift: tuple[float, float] = (0, 0)) -> Array:
        cx, cy = self.centre(camera)
        cx, cy = cx - shift[0], cy - shift[1]
        step = 1 / camera.zoom
        if camera.vertigo == 0:
            matrix = np.array(
                [
                    [step, 0, cx - step * (self.width - 1) / 2],
                    [0, step, cy - step * (self.height - 1) / 2],
                ]
            )
            out: Array = cv2.warpAffine(
                frame,
                matrix,
                (self.width, self.height),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            )
            return out
        scale = step * (1 + camera.vertigo * self._rho2)
        map_x = (cx + self._u * scale).astype(np.float32)
        map_y = (cy + self._v * scale).astype(np.float32)
        warped: Array = cv2.remap(
            frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        return warped


# -- reading and writing -------------------------------------------------------------


def _frames(video: Path, width: int, height: int) -> Iterator[Array]:
    with open_video(video) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(width=width, height=height, format="rgb24")


def _rate(video: Path) -> Fraction:
    with open_video(video) as container:
        stream = container.streams.video[0]
        found = stream.average_rate or stream.guessed_rate
    return Fraction(found.numerator, found.denominator) if found else Fraction(24)


Render = Callable[[H264Writer, Progress], None]


def _edit(
    video: Path, info: MediaInfo, dest: Path, progress: ProgressCallback, run: Render
) -> None:
    """Write `run`'s frames to `dest`, keeping the source's audio."""
    width, height = info.width // 2 * 2, info.height // 2 * 2
    rate = _rate(video)
    report = Progress(progress)
    report.fraction(0)
    with atomic_output(dest) as out:
        target = out.scratch("video", ".mp4") if info.has_audio else out.path
        with H264Writer(target, width, height, fps=rate, crf=EDIT_CRF) as writer:
            run(writer, report.span(0, 95))
            if writer.frames == 0:
                raise EngineError("No frame could be read from this video.")
        if info.has_audio:
            mux_audio(target, video, out.path)
    report.fraction(1)


def _even(info: MediaInfo) -> tuple[int, int]:
    return info.width // 2 * 2, info.height // 2 * 2


# -- extend ---------------------------------------------------------------------------


def _drift(previous: Array, last: Array, width: int) -> tuple[float, float]:
    """The last frame's motion in pixels a frame, (0, 0) when unsure."""
    a = cv2.cvtColor(previous, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(last, cv2.COLOR_RGB2GRAY).astype(np.float32)
    window = cv2.createHanningWindow((a.shape[1], a.shape[0]), cv2.CV_32F)
    (dx, dy), confidence = cv2.phaseCorrelate(a, b, window)
    if confidence < DRIFT_CONFIDENCE or not (math.isfinite(dx) and math.isfinite(dy)):
        return 0.0, 0.0
    limit = MAX_DRIFT * width
    return max(-limit, min(limit, dx)), max(-limit, min(limit, dy))


def _extension_tag(prompt: str, width: int, height: int) -> Tag | None:
    """The longest honest label that fits the frame (Tag's own sizing), if any does."""
    size = max(14, min(width, height) // 36)
    font = load_font(size)
    prompt = prompt.strip()
    for label in (
        f"OFFLINE DRAFT · extended: {prompt[:60]}" if prompt else "",
        "OFFLINE DRAFT · extended",
        "DRAFT",
    ):
        if label and 2 * size + font.getlength(label) + 8 <= width and size * 3 <= height:
            return Tag(label, width, height)
    return None


def extend(
    video: Path,
    prompt: str,
    dest: Path,
    progress: ProgressCallback = no_progress,
    *,
    seconds: int = EXTEND_SECONDS,
) -> None:
    """The clip, then `seconds` more continuing from its last frame with motion."""
    info = probe(video)
    width, height = _even(info)
    rate = _rate(video)
    added = max(1, round(seconds * float(rate)))
    total = max(1, info.frame_count) + added
    tag = _extension_tag(prompt, width, height)
    lens = Lens(width, height)

    def run(writer: H264Writer, report: Progress) -> None:
        previous: Array | None = None
        last: Array | None = None
        for frame in _frames(video, width, height):
            writer.write_rgb(frame)
            previous, last = last, frame
            report.fraction(writer.frames / total)
        if last is None:
            return
        check_complete(writer.frames / float(rate), info)
        dx, dy = _drift(previous, last, width) if previous is not None else (0.0, 0.0)
        shift_x = shift_y = 0.0
        for index in range(1, added + 1):
            factor = DRIFT_DECAY**index
            shift_x, shift_y = shift_x + dx * factor, shift_y + dy * factor
            camera = Camera(1 + EXTEND_PUSH * ease(index / added))
            frame = lens.render(last, camera, (shift_x, shift_y))
            if tag is not None:
                tag.draw(frame)
            writer.write_rgb(frame)
            report.fraction(writer.frames / total)

    _edit(video, info, dest, progress, run)


# -- reshoot --------------------------------------------------------------------------


def reshoot(
    video: Path, motion_type: str, dest: Path, progress: ProgressCallback = no_progress
) -> None:
    """Every frame of the clip again, seen through the camera move `motion_type`."""
    try:
        start, end = MOVES[motion_type]
    except KeyError:
        raise EngineError(f"The offline engine has no camera move {motion_type!r}.") from None
    info = probe(video)
    width, height = _even(info)
    lens = Lens(width, height)
    last_index = max(1, info.frame_count - 1)

    def run(writer: H264Writer, report: Progress) -> None:
        for index, frame in enumerate(_frames(video, width, height)):
            writer.write_rgb(lens.render(frame, _between(start, end, index / last_index)))
            report.fraction(writer.frames / (last_index + 1))
        check_complete(writer.frames / float(_rate(video)), info)

    _edit(video, info, dest, progress, run)


# -- insert ---------------------------------------------------------------------------


def placement(mask: Path | None, width: int, height: int) -> Array:
    """Where the object goes, at the video's size: 1.0 inside, 0.0 outside."""
    if mask is None:
        left, top, right, bottom = INSERT_DEFAULT_BOX
        area = np.zeros((height, width), dtype=np.float32)
        area[int(top * height) : int(bottom * height), int(left * width) : int(right * width)] = 1
        return area
    grey = open_mask(mask)
    mask_h, mask_w = grey.shape
    if abs(mask_w / mask_h - width / height) > 0.02 * width / height:
        raise EngineError(
            f"The mask is {mask_w}x{mask_h} but the video is {width}x{height}: "
            "the mask must have the video's shape."
        )
    scaled = cv2.resize(grey, (width, height), interpolation=cv2.INTER_NEAREST)
    area = (scaled >= 128).astype(np.float32)
    if not area.any():
        raise EngineError("The mask is empty: paint where the object should go.")
    return area


def typeset(prompt: str, width: int, height: int) -> Image.Image:
    """The prompt on a card of `width` x `height`: the draft's stand-in for the object."""
    card = Image.new("RGB", (width, height), (236, 196, 64))
    draw = ImageDraw.Draw(card)
    size = max(10, min(height // 3, width // 6))
    words = prompt.split() or ["object"]
    while size > 8:
        font = load_font(size)
        lines: list[str] = []
        for word in words:
            if lines and font.getlength(f"{lines[-1]} {word}") <= width * 0.9:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
        if len(lines) * size * 1.2 <= height * 0.9 and all(
            font.getlength(line) <= width * 0.9 for line in lines
        ):
            break
        size = int(size * 0.85)
    text = "\n".join(lines)
    draw.multiline_text(
        (width / 2, height / 2), text, font=font, fill=(24, 24, 28), anchor="mm", align="center"
    )
    return card


def _object_layer(
    area: Array, image: Path | None, prompt: str
) -> tuple[tuple[int, int, int, int], Array, Array]:
    """The bounding box of the area, the object's pixels in it and their opacity."""
    ys, xs = np.nonzero(area)
    left, top, right, bottom = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    box_w, box_h = right - left, bottom - top
    if image is not None:
        picture = open_image(image)
        scale = min(box_w / picture.width, box_h / picture.height)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    else:
        picture = typeset(prompt, box_w, box_h)
    pixels = np.zeros((box_h, box_w, 3), dtype=np.float32)
    opacity = np.zeros((box_h, box_w), dtype=np.float32)
    x0, y0 = (box_w - picture.width) // 2, (box_h - picture.height) // 2
    pixels[y0 : y0 + picture.height, x0 : x0 + picture.width] = np.asarray(picture)
    opacity[y0 : y0 + picture.height, x0 : x0 + picture.width] = 1
    opacity *= area[top:bottom, left:right]
    return (left, top, right, bottom), pixels, opacity[..., None]


def insert_object(
    video: Path,
    prompt: str,
    dest: Path,
    progress: ProgressCallback = no_progress,
    *,
    mask: Path | None = None,
    image: Path | None = None,
) -> None:
    """Put `image` (or the prompt, typeset) where the mask is white, in every frame."""
    if image is None and not prompt.strip():
        raise EngineError("Say what to insert, or choose an image of it.")
    info = probe(video)
    width, height = _even(info)
    area = placement(mask, width, height)
    (left, top, right, bottom), pixels, opacity = _object_layer(area, image, prompt)

    def run(writer: H264Writer, report: Progress) -> None:
        total = max(1, info.frame_count)
        for frame in _frames(video, width, height):
            window = frame[top:bottom, left:right].astype(np.float32)
            frame[top:bottom, left:right] = (window + (pixels - window) * opacity + 0.5).astype(
                np.uint8
            )
            writer.write_rgb(frame)
            report.fraction(writer.frames / total)
        check_complete(writer.frames / float(_rate(video)), info)

    _edit(video, info, dest, progress, run)
