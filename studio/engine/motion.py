"""img2video: a camera move over one image, or a flow-interpolated transition between two.

One image: the picture is cover-cropped to the output's aspect (never
stretched, never barred) with some spare resolution, and a virtual camera
zooms or pans over it; words in the prompt pick the move ("zoom out",
"pan left"...).

Two images: optical flow is computed once between the start and end frames
at quarter resolution, after a global alignment (ORB features + RANSAC) that
catches camera moves larger than dense flow can follow. Each frame warps both
images toward its moment t and blends them, so things travel across the frame
instead of fading through each other as in a crossfade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from studio.engine.arrays import Array
from studio.engine.design import keyed_rng, words_of
from studio.engine.errors import EngineError
from studio.engine.media import cover_fit, open_image
from studio.engine.output import (
    H264Writer,
    Progress,
    ProgressCallback,
    atomic_output,
    frame_count,
    frame_size,
    no_progress,
    opencv_threads,
    write_frames,
)

# Spare resolution for the camera: at the widest the frame shows the whole
# cover-cropped picture, at the tightest 1 / ZOOM of it.
ZOOM = 1.2
FLOW_SCALE = 4

Flow = Array  # (h, w, 2) float32 displacements in pixels


@dataclass(frozen=True)
class Shot:
    """Camera framing: zoom (1 = the whole picture) and centre in 0..1 of the picture."""

    zoom: float
    x: float
    y: float


CAMERA_MOVES: dict[str, tuple[Shot, Shot]] = {
    "zoom in": (Shot(1.0, 0.5, 0.5), Shot(ZOOM, 0.5, 0.5)),
    "zoom out": (Shot(ZOOM, 0.5, 0.5), Shot(1.0, 0.5, 0.5)),
    "pan left": (Shot(ZOOM, 0.58, 0.5), Shot(ZOOM, 0.42, 0.5)),
    "pan right": (Shot(ZOOM, 0.42, 0.5), Shot(ZOOM, 0.58, 0.5)),
    "tilt up": (Shot(ZOOM, 0.5, 0.58), Shot(ZOOM, 0.5, 0.42)),
    "tilt down": (Shot(ZOOM, 0.5, 0.42), Shot(ZOOM, 0.5, 0.58)),
}
MOVE_WORDS = {
    "zoom in": ("zoom in", "push in", "dolly in", "zooming in", "closer"),
    "zoom out": ("zoom out", "pull back", "pull out", "dolly out", "zooming out", "reveal"),
    "pan left": ("pan left", "panning left", "truck left"),
    "pan right": ("pan right", "panning right", "truck right"),
    "tilt up": ("tilt up", "tilting up", "crane up", "pedestal up"),
    "tilt down": ("tilt down", "tilting down", "crane down", "pedestal down"),
}


def camera_move_for(prompt: str) -> tuple[Shot, Shot]:
    """The move the prompt asks for, else a slow push-in drifting a little sideways."""
    text = " ".join(words_of(prompt))
    for move, phrases in MOVE_WORDS.items():
        if any(phrase in text for phrase in phrases):
            return CAMERA_MOVES[move]
    drift = float(keyed_rng("drift", prompt).uniform(-0.04, 0.04))
    return Shot(1.0, 0.5, 0.5), Shot(ZOOM, 0.5 + drift, 0.5 - drift / 2)


def ease(t: float) -> float:
    """Smoothstep: the camera starts and stops gently."""
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _camera_matrix(shot: Shot, source_w: int, source_h: int, width: int) -> Array:
    """An output-to-source affine map for `warpAffine(..., WARP_INVERSE_MAP)`."""
    view_w, view_h = source_w / shot.zoom, source_h / shot.zoom
    centre_x = min(max(shot.x * source_w, view_w / 2), source_w - view_w / 2)
    centre_y = min(max(shot.y * source_h, view_h / 2), source_h - view_h / 2)
    step = view_w / width
    # Pixel centres: output pixel u covers source x0 + (u + 0.5) * step.
    x0 = centre_x - view_w / 2 + 0.5 * step - 0.5
    y0 = centre_y - view_h / 2 + 0.5 * step - 0.5
    return np.array([[step, 0, x0], [0, step, y0]], dtype=np.float64)


def _camera_frame(
    picture: Array, move: tuple[Shot, Shot], t: float, width: int, height: int
) -> Array:
    start, end = move
    s = ease(t)
    shot = Shot(
        start.zoom + (end.zoom - start.zoom) * s,
        start.x + (end.x - start.x) * s,
        start.y + (end.y - start.y) * s,
    )
    source_h, source_w = picture.shape[:2]
    matrix = _camera_matrix(shot, source_w, source_h, width)
    frame: Array = cv2.warpAffine(
        picture,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return frame


def _grey_small(image: Array) -> Array:
    height, width = image.shape[:2]
    small = cv2.resize(
        image, (width // FLOW_SCALE, height // FLOW_SCALE), interpolation=cv2.INTER_AREA
    )
    grey: Array = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    return grey


def _global_affine(a: Array, b: Array) -> Array:
    """A similarity transform taking points of `a` to `b`, identity if unsure."""
    orb = cv2.ORB.create(nfeatures=1500, fastThreshold=10)
    keys_a, desc_a = orb.detectAndCompute(a, None)
    keys_b, desc_b = orb.detectAndCompute(b, None)
    identity = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float64)
    if desc_a is None or desc_b is None or len(keys_a) < 12 or len(keys_b) < 12:
        return identity
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(desc_a, desc_b)
    if len(matches) < 12:
        return identity
    points_a = np.array([keys_a[m.queryIdx].pt for m in matches], dtype=np.float32)
    points_b = np.array([keys_b[m.trainIdx].pt for m in matches], dtype=np.float32)
    matrix, inliers = cv2.estimateAffinePartial2D(
        points_a, points_b, method=cv2.RANSAC, ransacReprojThreshold=2.0
    )
    if matrix is None or inliers is None or int(inliers.sum()) < max(12, len(matches) // 4):
        return identity
    return np.asarray(matrix, dtype=np.float64)


def _flow(a: Array, b: Array) -> Flow:
    """Dense flow from `a` to `b` (same size, grey): a(x) ~ b(x + flow(x)).

    The global move is removed first; dense flow then only has to find the
    remaining (local) motion, which is what it is good at.
    """
    height, width = a.shape
    affine = _global_affine(a, b)
    # b_aligned(x) = b(A x): the global move undone.
    b_aligned = cv2.warpAffine(
        b, affine, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    )
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    # No initial flow: valid for OpenCV, not for its stubs.
    residual = dis.calc(a, b_aligned, None)  # type: ignore[call-overload]
    # Where `b` has nothing to show after alignment (ground a pan leaves
    # behind) dense flow only matches texture against black: trust the
    # global move there, with a margin for the flow's patch size.
    seen = cv2.warpAffine(
        np.full_like(b, 255),
        affine,
        (width, height),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderValue=0,
    )
    unseen = cv2.dilate((seen < 255).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    residual[unseen] = 0
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    px, py = xs + residual[..., 0], ys + residual[..., 1]
    tx = affine[0, 0] * px + affine[0, 1] * py + affine[0, 2]
    ty = affine[1, 0] * px + affine[1, 1] * py + affine[1, 2]
    return np.dstack([tx - xs, ty - ys]).astype(np.float32)


class FlowTransition:
    """Frames between two images by flow warping (the Super SloMo approximation).

    With F01, F10 the flows between the ends, the flows from the moment t back
    to each end are approximated as
        F_t0 = -(1 - t) t F01 + t^2 F10,   F_t1 = (1 - t)^2 F01 - t (1 - t) F10,
    and the frame is (1 - t) I0(x + F_t0) + t I1(x + F_t1).
    """

    def __init__(self, start: Array, end: Array) -> None:
        height, width = start.shape[:2]
        self.size = (width, height)
        small_a, small_b = _grey_small(start), _grey_small(end)
        # Flows and sampling maps stay at quarter size, in full-size pixels:
        # they are smooth, and bilinear upsizing of (grid + flow) is exact for
        # the grid, so each frame only resizes two small maps.
        self._f01 = _flow(small_a, small_b) * FLOW_SCALE
        self._f10 = _flow(small_b, small_a) * FLOW_SCALE
        small_h, small_w = small_a.shape
        xs, ys = np.meshgrid(
            (np.arange(small_w, dtype=np.float32) + 0.5) * FLOW_SCALE - 0.5,
            (np.arange(small_h, dtype=np.float32) + 0.5) * FLOW_SCALE - 0.5,
        )
        self._grid = np.dstack([xs, ys])
        # Pictures padded by their own edge pixels as far as any flow reaches,
        # so every sample lands inside: OpenCV's remap is about twice as fast
        # without border handling. Four channels for the same reason.
        reach = float(max(np.abs(self._f01).max(), np.abs(self._f10).max()))
        self._pad = int(min(max(8, math.ceil(reach) + 4), 2 * max(width, height)))
        self._start = self._padded(start)
        self._end = self._padded(end)

    def _padded(self, image: Array) -> Array:
        p = self._pad
        rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
        padded: Array = cv2.copyMakeBorder(rgba, p, p, p, p, cv2.BORDER_REPLICATE)
        return padded

    def _warp(self, image: Array, small_map: Flow) -> Array:
        full = cv2.resize(small_map + self._pad, self.size, interpolation=cv2.INTER_LINEAR)
        # One (h, w, 2) map and no second map: valid for OpenCV, not for its stubs.
        warped: Array = cv2.remap(image, full, None, cv2.INTER_LINEAR)  # type: ignore[call-overload]
        return warped

    def _seen(self, small_map: Flow) -> Array:
        width, height = self.size
        x, y = small_map[..., 0], small_map[..., 1]
        inside: Array = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        return inside

    def frame(self, t: float) -> Array:
        """RGBA frame at moment t in 0..1."""
        p = self._pad
        if t <= 0 or t >= 1:
            source = self._start if t <= 0 else self._end
            return source[p:-p, p:-p]
        map0 = self._grid - (1 - t) * t * self._f01 + t * t * self._f10
        map1 = self._grid + (1 - t) ** 2 * self._f01 - t * (1 - t) * self._f10
        warped0 = self._warp(self._start, map0)
        warped1 = self._warp(self._end, map1)
        # Where one side's sample fell outside its picture (a pan brings in new
        # ground) the other side alone is right: each side weighs by its time
        # share and by whether it saw the pixel.
        w0 = (1 - t) * self._seen(map0)
        w1 = t * self._seen(map1)
        total = w0 + w1
        share = np.where(total > 0, w1 / np.maximum(total, 1e-6), t)
        if np.abs(share - t).max() < 1e-3:
            blended: Array = cv2.addWeighted(warped0, 1 - t, warped1, t, 0)
            return blended
        blended = cv2.addWeighted(warped0, 1 - t, warped1, t, 0)
        for top, bottom, left, right in _bands(np.abs(share - t) > 1e-3):
            # Only the strips a pan uncovers get the per-pixel blend.
            part = share[top:bottom, left:right]
            size = ((right - left) * FLOW_SCALE, (bottom - top) * FLOW_SCALE)
            alpha = cv2.resize(np.round(part * 255).astype(np.uint8), size)
            alpha = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGBA)
            rows = slice(top * FLOW_SCALE, bottom * FLOW_SCALE)
            cols = slice(left * FLOW_SCALE, right * FLOW_SCALE)
            part0 = cv2.multiply(warped0[rows, cols], cv2.bitwise_not(alpha), scale=1 / 255)
            part1 = cv2.multiply(warped1[rows, cols], alpha, scale=1 / 255)
            blended[rows, cols] = cv2.add(part0, part1)
        return blended


def _bands(differs: Array) -> list[tuple[int, int, int, int]]:
    """Rectangles (top, bottom, left, right) covering the True cells, one per run of columns."""
    height, width = differs.shape
    columns = differs.any(axis=0)
    bands = []
    start = None
    for x in range(width + 1):
        inside = x < width and bool(columns[x])
        if inside and start is None:
            start = x
        elif not inside and start is not None:
            # One cell of margin: the full-size alpha is interpolated across it.
            left, right = max(0, start - 1), min(width, x + 1)
            rows = np.flatnonzero(differs[:, start:x].any(axis=1))
            top, bottom = max(0, int(rows[0]) - 1), min(height, int(rows[-1]) + 2)
            bands.append((top, bottom, left, right))
            start = None
    return bands


def img2video(
    images: list[Path],
    prompt: str,
    aspect_ratio: str,
    duration_seconds: int,
    dest: Path,
    progress: ProgressCallback = no_progress,
) -> None:
    """One image: a camera move over it. Two: a motion-interpolated transition start to end."""
    if not 1 <= len(images) <= 2:
        raise EngineError("Image to video takes a start frame, and optionally an end frame.")
    width, height = frame_size(aspect_ratio)
    frames = frame_count(duration_seconds)
    report = Progress(progress)
    report.fraction(0)
    pictures = [open_image(path) for path in images]
    if len(pictures) == 1:
        picture = cover_fit(pictures[0], round(width * ZOOM), round(height * ZOOM))
        move = camera_move_for(prompt)

        def draw(t: float) -> Array:
            return _camera_frame(picture, move, t, width, height)

    else:
        transition = FlowTransition(
            cover_fit(pictures[0], width, height), cover_fit(pictures[1], width, height)
        )

        def draw(t: float) -> Array:
            return transition.frame(ease(t))

    report.fraction(0.05)
    with (
        opencv_threads(1),
        atomic_output(dest) as out,
        H264Writer(out.path, width, height) as writer,
    ):
        write_frames(writer, frames, lambda index: draw(index / (frames - 1)), report.span(5, 98))
    report.fraction(1)


def crossfade(start: Array, end: Array, t: float) -> Array:
    """The plain crossfade a flow transition is measured against."""
    mixed: Array = cv2.addWeighted(start, 1 - t, end, t, 0)
    return mixed
