"""Object removal: inpaint the masked region in every frame, steadily, keeping the rest.

Frames are worked on as the decoder gives them (YUV 4:2:0 planes), so pixels
outside the mask are passed through untouched and only re-encoded, at a low
CRF. Inpainting runs on crops around each masked area, because cv2.inpaint's
cost grows with the image it is given, in two threads: OpenCV releases the
GIL, and django-q's daemonic workers cannot start child processes. The fill
is blended with the previous frame's fill toward the inside of the mask so it
does not shimmer from frame to frame.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from studio.engine.arrays import Array
from studio.engine.errors import EngineError
from studio.engine.media import MediaInfo, check_complete, open_mask, probe
from studio.engine.output import (
    Colour,
    H264Writer,
    Progress,
    ProgressCallback,
    atomic_output,
    mux_audio,
    no_progress,
    open_video,
)

logger = logging.getLogger(__name__)

WORKERS = 2
# Past half the frame there is too little left to fill from.
MAX_MASK_AREA = 0.5
# Masks are exported at the video's size; allow rounding of the other side.
ASPECT_TOLERANCE = 0.02
# At chroma resolution, so 4 px of the frame. TELEA's cost grows with the
# radius squared: 13.6 ms a frame for a 5 % mask at 720p, 27 ms at radius 3.
INPAINT_RADIUS = 2
# Weight of the previous frame's fill deep inside the mask; none at its edge,
# where the fill must meet the current frame's surroundings.
SMOOTHING = 0.6
SMOOTHING_RAMP = 8.0
# Mean change of the surroundings (8-bit luma) that counts as a cut.
SCENE_CUT = 25.0
# Removal edits someone's finished video: keep the untouched part near-lossless.
REMOVAL_CRF = 16

Plane = Array  # uint8, one image plane or crop


def prepare_mask(grey: Array, width: int, height: int) -> Array:
    """The mask at the video's size: binarized at 50 %, dilated a few pixels, 0/255."""
    mask_h, mask_w = grey.shape
    if abs(mask_w / mask_h - width / height) > ASPECT_TOLERANCE * width / height:
        raise EngineError(
            f"The mask is {mask_w}x{mask_h} but the video is {width}x{height}: "
            "the mask must have the video's shape."
        )
    downscale = mask_w > width
    scaled = cv2.resize(
        grey,
        (width, height),
        interpolation=cv2.INTER_AREA if downscale else cv2.INTER_LINEAR,
    )
    binary = np.where(scaled >= 128, 255, 0).astype(np.uint8)
    area = np.count_nonzero(binary) / binary.size
    if area == 0:
        raise EngineError("The mask is empty: paint over what should be removed.")
    if area > MAX_MASK_AREA:
        raise EngineError(
            "The mask covers more than half of the frame: paint only the object to remove."
        )
    # A few pixels of dilation catch the object's soft edge and halo.
    radius = max(2, round(min(width, height) / 180))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    dilated: Array = cv2.dilate(binary, kernel)
    return dilated


@dataclass
class Region:
    """One crop around a masked area, with what the fill and smoothing need."""

    left: int
    top: int
    right: int
    bottom: int
    mask: Plane  # luma resolution
    mask_uv: Plane  # chroma resolution
    weight: Array = field(init=False)
    weight_uv: Array = field(init=False)
    ring: Array = field(init=False)
    soften: Array = field(init=False)
    soften_kernel: int = field(init=False)

    def __post_init__(self) -> None:
        self.weight = _inner_weight(self.mask, SMOOTHING_RAMP)
        self.weight_uv = _inner_weight(self.mask_uv, SMOOTHING_RAMP / 2)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
        self.ring = (cv2.dilate(self.mask, kernel) > 0) & (self.mask == 0)
        # TELEA fills from the edge inward and leaves a seam where the fronts
        # meet (along the middle of a wide mask). A blur as wide as the mask is
        # thick, faded in from its edge, melts the seam and keeps the edge.
        depth = cv2.distanceTransform((self.mask_uv > 0).astype(np.uint8), cv2.DIST_L2, 3)
        thickness = float(depth.max())
        self.soften = np.clip(depth / max(1.0, thickness * 0.6), 0, 1).astype(np.float32)
        self.soften_kernel = max(3, int(thickness)) | 1


def _inner_weight(mask: Plane, ramp: float) -> Array:
    distance = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    weight: Array = (SMOOTHING * np.clip(distance / ramp, 0, 1)).astype(np.float32)
    return weight


def _boxes(mask: Plane, margin: int) -> list[list[int]]:
    """Bounding boxes of the mask's parts, grown by `margin`, even-aligned, merged if touching."""
    height, width = mask.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(
        (mask > 0).astype(np.uint8), connectivity=8
    )
    boxes = []
    for label in range(1, count):
        x, y, w, h = (int(v) for v in stats[label, :4])
        boxes.append(
            [
                max(0, x - margin) // 2 * 2,
                max(0, y - margin) // 2 * 2,
                min(width, x + w + margin + 1) // 2 * 2,
                min(height, y + h + margin + 1) // 2 * 2,
            ]
        )
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def regions_for(mask: Plane) -> list[Region]:
    regions = []
    for left, top, right, bottom in _boxes(mask, margin=16):
        crop = np.ascontiguousarray(mask[top:bottom, left:right])
        # A chroma sample is masked if any of its four luma pixels is.
        crop_uv = cv2.resize(
            crop, ((right - left) // 2, (bottom - top) // 2), interpolation=cv2.INTER_AREA
        )
        crop_uv = np.where(crop_uv > 0, 255, 0).astype(np.uint8)
        regions.append(Region(left, top, right, bottom, crop, crop_uv))
    return regions


def _split(planes: Plane, width: int, height: int) -> tuple[Plane, Plane, Plane]:
    """Views of the Y, U and V planes of an I420 frame stacked as (h * 3 / 2, w)."""
    quarter = (height // 2) * (width // 2)
    flat = planes.reshape(-1)
    luma = flat[: width * height].reshape(height, width)
    u = flat[width * height : width * height + quarter].reshape(height // 2, width // 2)
    v = flat[width * height + quarter : width * height + 2 * quarter].reshape(
        height // 2, width // 2
    )
    return luma, u, v


def _fill(planes: Plane, width: int, height: int, region: Region) -> tuple[Plane, Plane]:
    """Inpainted crops of one region of one frame: luma, and chroma as (U, V).

    The fill is computed at chroma resolution for all three planes in one
    call (a TELEA fill is smooth, so half resolution loses nothing visible,
    and it is about ten times cheaper), then the luma fill is scaled up and
    used only inside the mask, where the original pixels are gone anyway.
    """
    luma, u, v = _split(planes, width, height)
    r = region
    y_crop = luma[r.top : r.bottom, r.left : r.right]
    top, bottom, left, right = r.top // 2, r.bottom // 2, r.left // 2, r.right // 2
    u_crop, v_crop = u[top:bottom, left:right], v[top:bottom, left:right]
    y_small = cv2.resize(y_crop, (right - left, bottom - top), interpolation=cv2.INTER_AREA)
    filled = cv2.inpaint(
        cv2.merge([y_small, u_crop, v_crop]), r.mask_uv, INPAINT_RADIUS, cv2.INPAINT_TELEA
    )
    melted = cv2.stackBlur(filled, (r.soften_kernel, r.soften_kernel))
    filled = cv2.blendLinear(filled, melted, 1 - r.soften, r.soften)
    y_fill = cv2.resize(
        cv2.extractChannel(filled, 0),
        (r.right - r.left, r.bottom - r.top),
        interpolation=cv2.INTER_LINEAR,
    )
    y_filled = y_crop.copy()
    cv2.copyTo(y_fill, r.mask, y_filled)
    return y_filled, filled[..., 1:]


class Smoother:
    """Blends each region's fill with the previous frame's, reset at scene cuts."""

    def __init__(self, region: Region) -> None:
        self.region = region
        self._previous: tuple[Array, Array] | None = None
        self._previous_ring: Array | None = None

    def apply(self, y_fill: Plane, uv_fill: Plane) -> tuple[Plane, Plane]:
        r = self.region
        y = y_fill.astype(np.float32)
        uv = uv_fill.astype(np.float32)
        ring = y[r.ring]
        cut = (
            self._previous_ring is None
            or float(np.abs(ring - self._previous_ring).mean()) > SCENE_CUT
        )
        self._previous_ring = ring
        if not cut and self._previous is not None:
            previous_y, previous_uv = self._previous
            y += (previous_y - y) * r.weight
            uv += (previous_uv - uv) * r.weight_uv[..., None]
        self._previous = (y, uv)
        return (y + 0.5).astype(np.uint8), (uv + 0.5).astype(np.uint8)


def _paste(planes: Plane, width: int, height: int, region: Region, y: Plane, uv: Plane) -> None:
    luma, u, v = _split(planes, width, height)
    r = region
    # Outside the mask the fill is the original, so pasting the whole crop is safe.
    luma[r.top : r.bottom, r.left : r.right] = y
    top, bottom, left, right = r.top // 2, r.bottom // 2, r.left // 2, r.right // 2
    u[top:bottom, left:right] = uv[..., 0]
    v[top:bottom, left:right] = uv[..., 1]


def _colour_of(context: av.VideoCodecContext) -> Colour:
    return Colour(
        space=int(context.colorspace),
        primaries=int(context.color_primaries),
        trc=int(context.color_trc),
        range=int(context.color_range),
    )


def _inpaint_video(
    video: Path, info: MediaInfo, mask: Plane, dest: Path, progress: Progress
) -> None:
    width, height = info.width // 2 * 2, info.height // 2 * 2
    mask = mask[:height, :width]
    regions = regions_for(mask)
    smoothers = [Smoother(region) for region in regions]
    total = max(1, info.frame_count)
    with open_video(video) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        found = stream.average_rate or stream.guessed_rate
        rate = Fraction(found.numerator, found.denominator) if found else Fraction(24)
        pending: deque[tuple[Plane, list[Future[tuple[Plane, Plane]]]]] = deque()
        with (
            ThreadPoolExecutor(WORKERS, thread_name_prefix="inpaint") as pool,
            H264Writer(
                dest,
                width,
                height,
                fps=rate,
                crf=REMOVAL_CRF,
                colour=_colour_of(stream.codec_context),
            ) as writer,
        ):

            def finish() -> None:
                planes, futures = pending.popleft()
                for smoother, future in zip(smoothers, futures, strict=True):
                    y, uv = smoother.apply(*future.result())
                    _paste(planes, width, height, smoother.region, y, uv)
                writer.write_i420(planes)
                progress.fraction(writer.frames / total)

            for frame in container.decode(stream):
                if frame.format.name != "yuv420p" or (frame.width, frame.height) != (width, height):
                    frame = frame.reformat(width=width, height=height, format="yuv420p")
                planes = frame.to_ndarray()
                futures = [pool.submit(_fill, planes, width, height, region) for region in regions]
                pending.append((planes, futures))
                # Enough frames in flight to keep both threads busy, few enough
                # to bound memory.
                if len(pending) > 2 * WORKERS:
                    finish()
            while pending:
                finish()
            if writer.frames == 0:
                raise EngineError("No frame could be read from this video.")
            check_complete(writer.frames / float(rate), info)


def remove_object(
    video: Path, mask: Path, dest: Path, progress: ProgressCallback = no_progress
) -> None:
    """Remove what the mask covers (white = remove) from every frame of `video`."""
    info = probe(video)
    prepared = prepare_mask(open_mask(mask), info.width, info.height)
    report = Progress(progress)
    report.fraction(0)
    with atomic_output(dest) as out:
        if info.has_audio:
            video_only = out.scratch("video", ".mp4")
            _inpaint_video(video, info, prepared, video_only, report.span(0, 96))
            mux_audio(video_only, video, out.path)
        else:
            _inpaint_video(video, info, prepared, out.path, report.span(0, 99))
    report.fraction(1)
