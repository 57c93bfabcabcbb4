"""ingredients2video: 1-3 reference images composed into one moving shot with the prompt.

The references become cards with rounded corners and soft shadows that slide
in one after another and keep drifting, turning and growing slowly over a
colour field taken from the pictures themselves and the prompt, with the
prompt typeset underneath. Layout and motion come from the seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from studio.engine.arrays import Array
from studio.engine.design import (
    Aurora,
    Caption,
    Tag,
    draw_timeline,
    keyed_rng,
    light_colour,
    palette_from,
    speed_from,
)
from studio.engine.errors import EngineError
from studio.engine.media import cover_fit, open_image
from studio.engine.output import (
    FPS,
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
from studio.engine.text import DRAFT_TAG

MAX_INGREDIENTS = 3


def _dominant_colour(image: Image.Image) -> tuple[float, float, float]:
    """The picture's mean colour, made a little more saturated to read as a tint."""
    small = np.asarray(image.convert("RGB").resize((32, 32)), dtype=np.float32) / 255
    mean = small.reshape(-1, 3).mean(axis=0)
    grey = float(mean.mean())
    tinted = np.clip(grey + (mean - grey) * 1.6, 0, 1)
    return float(tinted[0]), float(tinted[1]), float(tinted[2])


def _card(picture: Image.Image, width: int, height: int) -> Array:
    """A premultiplied RGBA card: the picture with rounded corners over a soft shadow."""
    margin = max(8, height // 10)
    radius = max(6, min(width, height) // 14)
    canvas_w, canvas_h = width + 2 * margin, height + 2 * margin
    # Rounded corners drawn at twice the size and halved, for smooth edges.
    big = Image.new("L", (width * 2, height * 2), 0)
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, width * 2 - 1, height * 2 - 1), radius=radius * 2, fill=255
    )
    shape = np.asarray(big.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32)
    mask = np.zeros((canvas_h, canvas_w), np.float32)
    mask[margin : margin + height, margin : margin + width] = shape / 255
    drop = margin // 3
    shadow = np.zeros_like(mask)
    shadow[margin + drop : margin + drop + height, margin : margin + width] = shape / 255
    shadow = cv2.GaussianBlur(shadow, (0, 0), margin / 3) * 0.55
    alpha = mask + shadow * (1 - mask)
    colour = np.zeros((canvas_h, canvas_w, 3), np.float32)
    colour[margin : margin + height, margin : margin + width] = cover_fit(picture, width, height)
    premultiplied = colour * mask[..., None]
    rgba = np.dstack([premultiplied, alpha * 255])
    return np.clip(rgba + 0.5, 0, 255).astype(np.uint8)


@dataclass
class CardMotion:
    x: float  # centre in frame pixels
    y: float
    enter_at: float  # seconds
    enter_dx: float
    enter_dy: float
    angle: float  # degrees
    sway: float  # degrees
    drift: float  # pixels
    phase: float


def _place(count: int, width: int, height: int) -> list[tuple[float, float, float, float]]:
    """Slots (centre x, centre y, max card width, max card height) for the cards."""
    if width >= height:
        left, right, top, bottom = 0.05 * width, 0.95 * width, 0.11 * height, 0.72 * height
        slot = (right - left) / count
        return [
            (left + slot * (i + 0.5), (top + bottom) / 2, slot * 0.86, (bottom - top) * 0.9)
            for i in range(count)
        ]
    left, right, top, bottom = 0.08 * width, 0.92 * width, 0.09 * height, 0.73 * height
    slot = (bottom - top) / count
    return [
        ((left + right) / 2, top + slot * (i + 0.5), (right - left) * 0.9, slot * 0.86)
        for i in range(count)
    ]


def _card_size(picture: Image.Image, max_w: float, max_h: float) -> tuple[int, int]:
    aspect = min(max(picture.width / picture.height, 0.6), 1.6)
    card_w = min(max_w, max_h * aspect)
    return int(card_w) // 2 * 2, int(card_w / aspect) // 2 * 2


def _composite_card(frame: Array, card: Array, matrix: Array, fade: float) -> None:
    """Warp the premultiplied card by `matrix` and lay it over `frame` in place."""
    height, width = frame.shape[:2]
    card_h, card_w = card.shape[:2]
    corners = np.array([[0, 0, 1], [card_w, 0, 1], [0, card_h, 1], [card_w, card_h, 1]]).T
    placed = matrix @ corners
    left = max(0, int(math.floor(placed[0].min())))
    right = min(width, int(math.ceil(placed[0].max())) + 1)
    top = max(0, int(math.floor(placed[1].min())))
    bottom = min(height, int(math.ceil(placed[1].max())) + 1)
    if right <= left or bottom <= top:
        return
    local = matrix.copy()
    local[0, 2] -= left
    local[1, 2] -= top
    warped = cv2.warpAffine(card, local, (right - left, bottom - top), flags=cv2.INTER_LINEAR)
    if fade < 1:
        warped = cv2.convertScaleAbs(warped, alpha=fade)
    colour = cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB)
    keep = cv2.cvtColor(cv2.bitwise_not(cv2.extractChannel(warped, 3)), cv2.COLOR_GRAY2RGB)
    window = frame[top:bottom, left:right]
    cv2.multiply(window, keep, dst=window, scale=1 / 255)
    cv2.add(window, colour, dst=window)


def ingredients2video(
    images: list[Path],
    prompt: str,
    aspect_ratio: str,
    duration_seconds: int,
    seed: int,
    dest: Path,
    progress: ProgressCallback = no_progress,
) -> None:
    if not 1 <= len(images) <= MAX_INGREDIENTS:
        raise EngineError("Ingredients to video takes 1 to 3 reference images.")
    width, height = frame_size(aspect_ratio)
    frames = frame_count(duration_seconds)
    report = Progress(progress)
    report.fraction(0)
    pictures = [open_image(path) for path in images]
    palette = palette_from(prompt, seed)
    for index, picture in enumerate(pictures):
        palette[index] = _dominant_colour(picture)
    background = Aurora(
        palette,
        width,
        height,
        keyed_rng("ingredients-aurora", prompt, seed),
        speed=speed_from(prompt) * 0.7,
        brightness=0.6,
    )
    cards, motions = [], []
    for index, (picture, slot) in enumerate(
        zip(pictures, _place(len(pictures), width, height), strict=True)
    ):
        x, y, max_w, max_h = slot
        cards.append(_card(picture, *_card_size(picture, max_w, max_h)))
        rng = keyed_rng("card", prompt, seed, index)
        direction = rng.uniform(0, 2 * math.pi)
        motions.append(
            CardMotion(
                x=x + rng.uniform(-0.02, 0.02) * width,
                y=y + rng.uniform(-0.02, 0.02) * height,
                enter_at=0.15 + 0.35 * index,
                enter_dx=math.cos(direction) * 70,
                enter_dy=math.sin(direction) * 70,
                angle=rng.uniform(-4, 4),
                sway=rng.uniform(1.0, 2.5),
                drift=rng.uniform(6, 14),
                phase=rng.uniform(0, 2 * math.pi),
            )
        )
    caption = None
    if prompt.strip():
        caption = Caption(
            prompt,
            width,
            height,
            top=0.75,
            bottom=0.95,
            max_size=int(min(width, height) * 0.05),
            reveal_seconds=duration_seconds * 0.4,
        )
    tag = Tag(f"{DRAFT_TAG} · seed {seed}", width, height)
    accent = light_colour(palette)
    report.fraction(0.03)
    with (
        opencv_threads(1),
        atomic_output(dest) as out,
        H264Writer(out.path, width, height) as writer,
    ):

        def draw(index: int) -> Array:
            seconds = index / FPS
            done = index / (frames - 1)
            frame = background.render(seconds)
            # The whole composition is pushed in slowly, like a camera.
            push = 1.0 + 0.035 * done
            for card, motion in zip(cards, motions, strict=True):
                _draw_card(frame, card, motion, seconds, push)
            if caption is not None:
                caption.draw(frame, seconds, done)
            tag.draw(frame)
            draw_timeline(frame, (index + 1) / frames, accent)
            return frame

        write_frames(writer, frames, draw, report.span(3, 98))
    report.fraction(1)


def _draw_card(
    frame: Array,
    card: Array,
    motion: CardMotion,
    seconds: float,
    push: float,
) -> None:
    entering = min(max((seconds - motion.enter_at) / 0.8, 0.0), 1.0)
    if entering <= 0:
        return
    settle = 1 - (1 - entering) ** 3
    height, width = frame.shape[:2]
    wave = math.sin(2 * math.pi * 0.11 * seconds + motion.phase)
    x = motion.x + (1 - settle) * motion.enter_dx + motion.drift * wave
    y = (
        motion.y
        + (1 - settle) * motion.enter_dy
        + motion.drift * 0.6 * math.cos(2 * math.pi * 0.08 * seconds + motion.phase)
    )
    # Positions move away from the centre as the composition is pushed in.
    x = width / 2 + (x - width / 2) * push
    y = height / 2 + (y - height / 2) * push
    angle = motion.angle + motion.sway * wave
    scale = push * (0.92 + 0.08 * settle)
    card_h, card_w = card.shape[:2]
    matrix = cv2.getRotationMatrix2D((card_w / 2, card_h / 2), angle, scale)
    matrix[0, 2] += x - card_w / 2
    matrix[1, 2] += y - card_h / 2
    _composite_card(frame, card, matrix, settle)
