"""Drawing pieces of the offline draft look: palette, moving background, typeset prompt.

Everything is derived from the prompt's words and the seed through a keyed
hash, never from global random state, so the same prompt and seed always draw
the same pixels. Work happens at output size with vectorised numpy/OpenCV
calls; the background is computed at 1/8 scale because it is smooth anyway.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import re
import threading
from functools import cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from studio.engine.arrays import Array

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Words that name a colour or a scene with an obvious one, in RGB.
COLOUR_WORDS: dict[str, tuple[int, int, int]] = {
    "red": (214, 40, 57),
    "crimson": (170, 20, 50),
    "cherry": (190, 30, 60),
    "rose": (230, 90, 130),
    "pink": (240, 120, 170),
    "coral": (250, 125, 100),
    "orange": (245, 130, 40),
    "amber": (255, 175, 40),
    "autumn": (200, 100, 40),
    "gold": (230, 180, 60),
    "golden": (235, 185, 70),
    "yellow": (245, 215, 60),
    "lemon": (240, 230, 90),
    "sun": (255, 200, 80),
    "sunny": (255, 205, 90),
    "sunset": (245, 110, 80),
    "sunrise": (250, 160, 110),
    "dawn": (240, 170, 150),
    "dusk": (120, 80, 140),
    "fire": (240, 90, 30),
    "flame": (250, 120, 40),
    "lava": (220, 60, 20),
    "green": (60, 170, 80),
    "forest": (30, 110, 60),
    "jungle": (40, 140, 60),
    "grass": (90, 170, 60),
    "spring": (140, 210, 110),
    "mint": (150, 230, 190),
    "emerald": (20, 150, 100),
    "teal": (20, 140, 140),
    "cyan": (40, 200, 220),
    "ice": (180, 225, 240),
    "snow": (230, 240, 250),
    "winter": (190, 210, 235),
    "blue": (40, 90, 210),
    "sky": (110, 170, 235),
    "ocean": (20, 90, 160),
    "sea": (30, 110, 170),
    "water": (50, 130, 190),
    "rain": (90, 110, 140),
    "storm": (70, 80, 110),
    "navy": (20, 30, 90),
    "night": (20, 25, 70),
    "space": (30, 15, 60),
    "purple": (130, 60, 180),
    "violet": (140, 80, 210),
    "lavender": (180, 160, 230),
    "magenta": (220, 40, 170),
    "neon": (240, 50, 200),
    "white": (240, 240, 240),
    "silver": (190, 195, 205),
    "grey": (128, 130, 135),
    "gray": (128, 130, 135),
    "fog": (170, 175, 180),
    "mist": (180, 190, 200),
    "black": (15, 15, 20),
    "dark": (25, 25, 40),
    "brown": (120, 80, 50),
    "desert": (215, 170, 110),
    "sand": (225, 195, 140),
    "copper": (185, 110, 70),
}
FAST_WORDS = frozenset(
    [
        "fast",
        "rush",
        "rushing",
        "racing",
        "race",
        "storm",
        "chase",
        "chasing",
        "explosion",
        "energetic",
        "dance",
        "dancing",
        "run",
        "running",
        "speed",
        "wild",
        "spinning",
        "flying",
        "chaos",
    ]
)
SLOW_WORDS = frozenset(
    [
        "calm",
        "slow",
        "slowly",
        "gentle",
        "quiet",
        "still",
        "serene",
        "peaceful",
        "soft",
        "sleep",
        "sleeping",
        "dreamy",
        "drifting",
        "floating",
        "meditative",
    ]
)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
)
MAX_CAPTION_CHARS = 280
TEXT_RGB = np.array([255, 255, 255], dtype=np.float32)


def words_of(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def keyed_rng(*parts: object) -> np.random.Generator:
    """A generator seeded from the given parts, the same on every machine."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def palette_from(prompt: str, seed: int, size: int = 5) -> Array:
    """`size` RGB colours in 0..1: colour words first, then one hue per other word."""
    colours: list[tuple[float, float, float]] = []
    words = words_of(prompt)
    for word in words:
        if word in COLOUR_WORDS:
            r, g, b = COLOUR_WORDS[word]
            colours.append((r / 255, g / 255, b / 255))
    for word in words:
        if len(colours) >= size:
            break
        if word in COLOUR_WORDS or len(word) < 3:
            continue
        rng = keyed_rng("word", word, seed)
        hue, sat, val = rng.uniform(0, 1), rng.uniform(0.45, 0.8), rng.uniform(0.45, 0.85)
        colours.append(colorsys.hsv_to_rgb(hue, sat, val))
    rng = keyed_rng("fill", prompt, seed)
    while len(colours) < size:
        if colours:
            # Neighbours of a colour already there keep the palette coherent.
            h, s, v = colorsys.rgb_to_hsv(*colours[int(rng.integers(len(colours)))])
            h = (h + rng.uniform(-0.12, 0.12)) % 1.0
            v = min(0.9, max(0.3, v + rng.uniform(-0.25, 0.25)))
            colours.append(colorsys.hsv_to_rgb(h, s, v))
        else:
            colours.append(colorsys.hsv_to_rgb(rng.uniform(0, 1), 0.6, 0.7))
    return np.array(colours[:size], dtype=np.float32)


def speed_from(prompt: str) -> float:
    words = set(words_of(prompt))
    if words & FAST_WORDS:
        return 1.8
    if words & SLOW_WORDS:
        return 0.55
    return 1.0


class Aurora:
    """Soft colour fields drifting along smooth paths: the moving backdrop."""

    SCALE = 8

    def __init__(
        self,
        palette: Array,
        width: int,
        height: int,
        rng: np.random.Generator,
        *,
        speed: float = 1.0,
        brightness: float = 0.8,
    ) -> None:
        self.width, self.height = width, height
        small_w, small_h = width // self.SCALE, height // self.SCALE
        aspect = width / height
        self._x = (np.arange(small_w, dtype=np.float32) + 0.5) / small_w * aspect
        self._y = (np.arange(small_h, dtype=np.float32) + 0.5) / small_h
        count = len(palette)
        self._colours = palette * brightness
        self._base = palette.mean(axis=0) * 0.25
        self._centre = rng.uniform(0.2, 0.8, (count, 2)).astype(np.float32)
        self._centre[:, 0] *= aspect
        self._amplitude = rng.uniform(0.15, 0.4, (count, 2)).astype(np.float32)
        self._frequency = (rng.uniform(0.04, 0.12, (count, 2)) * speed).astype(np.float32)
        self._phase = rng.uniform(0, 2 * math.pi, (count, 2)).astype(np.float32)
        self._sigma = rng.uniform(0.22, 0.38, count).astype(np.float32)
        yy, xx = np.meshgrid(self._y, self._x / aspect, indexing="ij")
        vignette = 1.0 - 0.45 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) * 2
        self._vignette = vignette.astype(np.float32)[..., None]

    def render(self, seconds: float) -> Array:
        angle = 2 * math.pi * self._frequency * seconds + self._phase
        centres = self._centre + self._amplitude * np.sin(angle)
        two_sigma_sq = (2 * self._sigma**2)[:, None]
        gx = np.exp(-((self._x[None, :] - centres[:, 0:1]) ** 2) / two_sigma_sq)
        gy = np.exp(-((self._y[None, :] - centres[:, 1:2]) ** 2) / two_sigma_sq)
        weights = gy[:, :, None] * gx[:, None, :]  # (blobs, h, w)
        total = weights.sum(axis=0)[..., None] + 0.08
        mixed = np.tensordot(weights, self._colours, axes=([0], [0]))
        field = (mixed + self._base * 0.08) / total * self._vignette
        small = np.clip(field * 255 + 0.5, 0, 255).astype(np.uint8)
        # Cubic is both smoother and, with OpenCV's SIMD path, faster here.
        big: Array = cv2.resize(small, (self.width, self.height), interpolation=cv2.INTER_CUBIC)
        return big


@cache
def load_font(size: int) -> Font:
    for candidate in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    # Pillow's bundled font: always there, Latin only.
    return ImageFont.load_default(size)


def _wrap(words: list[str], font: Font, max_width: float) -> list[list[str]]:
    lines: list[list[str]] = [[]]
    for word in words:
        trial = " ".join([*lines[-1], word])
        if lines[-1] and font.getlength(trial) > max_width:
            lines.append([word])
        else:
            lines[-1].append(word)
    return lines


def _clip_text(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_CAPTION_CHARS:
        text = text[: MAX_CAPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def composite_into(window: Array, text: Array, shadow: Array) -> None:
    """Darken `window` in place by the shadow alpha, then add white text by the text alpha.

    8-bit OpenCV calls writing into the frame itself: at 720p a float32 numpy
    version of the same blend costs more than all the rest of a frame.
    """
    keep = cv2.multiply(cv2.bitwise_not(shadow), cv2.bitwise_not(text), scale=1 / 255)
    cv2.multiply(window, cv2.cvtColor(keep, cv2.COLOR_GRAY2RGB), dst=window, scale=1 / 255)
    cv2.add(window, cv2.cvtColor(text, cv2.COLOR_GRAY2RGB), dst=window)


class Caption:
    """The prompt typeset once; each frame reveals words and drifts the block.

    The text is drawn once into an alpha layer plus a label layer saying which
    word each pixel belongs to; a frame then needs only a lookup of per-word
    opacity, a blur for the shadow and one sub-pixel warp, all on 8-bit
    arrays. Once every word is shown the layers are reused as they are.
    """

    def __init__(
        self,
        text: str,
        width: int,
        height: int,
        *,
        top: float,
        bottom: float,
        max_size: int,
        reveal_seconds: float,
    ) -> None:
        words = _clip_text(text).split(" ")
        self.word_count = len(words)
        box_w = int(width * 0.84)
        box_h = int(height * (bottom - top))
        size = max_size
        while True:
            font = load_font(size)
            line_height = int(size * 1.28)
            lines = _wrap(words, font, box_w)
            if len(lines) * line_height <= box_h or size <= 18:
                break
            size = max(18, int(size * 0.9))
        max_lines = max(1, box_h // line_height)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = [*lines[-1][:-1], "…"] if len(lines[-1]) > 1 else [lines[-1][0] + "…"]
        self.word_count = sum(len(line) for line in lines)
        space = font.getlength(" ")
        text_w = max(font.getlength(" ".join(line)) for line in lines)
        pad = size // 2 + 12
        # Room for the 3 % growth on each side.
        self._roi_w = min(width, int(text_w * 1.04) + 2 * pad) // 2 * 2
        self._roi_h = min(height, int(len(lines) * line_height * 1.04) + 2 * pad)
        self.left = (width - self._roi_w) // 2
        self.top = int(height * (top + bottom) / 2 - self._roi_h / 2)
        block_top = (self._roi_h - len(lines) * line_height) / 2
        alpha = Image.new("L", (self._roi_w, self._roi_h), 0)
        labels = Image.new("L", (self._roi_w, self._roi_h), 0)
        draw_alpha, draw_labels = ImageDraw.Draw(alpha), ImageDraw.Draw(labels)
        index = 0
        for row, line in enumerate(lines):
            x = (self._roi_w - font.getlength(" ".join(line))) / 2
            y = block_top + row * line_height
            for word in line:
                index += 1
                length = font.getlength(word)
                draw_alpha.text((x, y), word, font=font, fill=255)
                box = (int(x) - 2, int(y) - 2, int(x + length + space / 2) + 2, y + line_height)
                draw_labels.rectangle(box, fill=min(index, 255))
                x += length + space
        self._alpha = np.asarray(alpha, dtype=np.uint8)
        self._labels = np.asarray(labels, dtype=np.uint8)
        self._shadow_kernel = max(3, size // 5) | 1
        self._zeros = np.zeros_like(self._alpha)
        self._shadow_offset = max(1, size // 20)
        step = min(0.22, reveal_seconds / max(1, self.word_count))
        # Labels go up to 255: later words share the last label and appear with it.
        self._starts = 0.25 + step * np.arange(min(self.word_count, 255), dtype=np.float32)
        self._fade = 0.35
        # Frames are drawn in several threads: the cache must not hand one
        # frame the layers another frame is building.
        self._lock = threading.Lock()
        self._cached_lut: bytes = b""
        self._layers: Array | None = None

    def _layers_for(self, seconds: float) -> Array | None:
        opacity = np.clip((seconds - self._starts) / self._fade, 0, 1)
        opacity = 1 - (1 - opacity) ** 2
        lut = np.zeros(256, np.uint8)
        # Only the words' own entries: the rest never changes, so once every
        # word is fully shown the cached layers are reused.
        lut[1 : 1 + len(opacity)] = np.round(opacity * 255)
        with self._lock:
            return self._layers_locked(lut)

    def _layers_locked(self, lut: Array) -> Array | None:
        if lut.tobytes() != self._cached_lut:
            self._cached_lut = lut.tobytes()
            text = cv2.multiply(self._alpha, cv2.LUT(self._labels, lut), scale=1 / 255)
            if not text.any():
                self._layers = None
            else:
                # A stack blur costs the same at any radius, unlike a Gaussian.
                blurred = cv2.stackBlur(text, (self._shadow_kernel, self._shadow_kernel))
                o = self._shadow_offset
                shadow = np.zeros_like(text)
                shadow[o:, o:] = cv2.convertScaleAbs(blurred[:-o, :-o], alpha=0.6)
                # Four channels: OpenCV's warp has a fast path for 4 but not for 2.
                self._layers = cv2.merge([text, shadow, self._zeros, self._zeros])
        return self._layers

    def draw(self, frame: Array, seconds: float, progress: float) -> None:
        """Composite the caption onto `frame` in place; `progress` runs 0..1 over the clip."""
        layers = self._layers_for(seconds)
        if layers is None:
            return
        # Drift up and grow a little over the clip, with sub-pixel smoothness.
        scale = 1.0 + 0.03 * progress
        shift = 10.0 - 20.0 * progress
        cx, cy = self._roi_w / 2, self._roi_h / 2
        matrix = np.array(
            [[scale, 0, cx - scale * cx], [0, scale, cy - scale * cy + shift]], dtype=np.float32
        )
        moved = cv2.warpAffine(layers, matrix, (self._roi_w, self._roi_h), flags=cv2.INTER_LINEAR)
        top, bottom = max(0, self.top), min(frame.shape[0], self.top + self._roi_h)
        if bottom <= top:
            return
        text, shadow, _, _ = cv2.split(moved[top - self.top : bottom - self.top])
        composite_into(frame[top:bottom, self.left : self.left + self._roi_w], text, shadow)


class Tag:
    """A small static label ("OFFLINE DRAFT") in the top-left corner."""

    def __init__(self, text: str, width: int, height: int) -> None:
        size = max(14, min(width, height) // 36)
        font = load_font(size)
        margin = size
        text_w = int(font.getlength(text)) + size
        image = Image.new("L", (text_w + 8, int(size * 1.6)), 0)
        ImageDraw.Draw(image).text((size // 2, size // 4), text, font=font, fill=255)
        self._alpha = (np.asarray(image, dtype=np.float32) / 255)[..., None]
        self._x, self._y = margin, margin
        self._pill = 0.35

    def draw(self, frame: Array) -> None:
        h, w = self._alpha.shape[:2]
        roi = frame[self._y : self._y + h, self._x : self._x + w].astype(np.float32)
        dimmed = roi * (1 - self._pill)
        labelled = dimmed * (1 - self._alpha) + TEXT_RGB * self._alpha
        frame[self._y : self._y + h, self._x : self._x + w] = (labelled + 0.5).astype(np.uint8)


def draw_timeline(frame: Array, progress: float, colour: Array) -> None:
    """A thin bar along the bottom edge that fills as the clip plays."""
    height, width = frame.shape[:2]
    bar = max(3, height // 200)
    filled = int(width * min(max(progress, 0.0), 1.0))
    if filled:
        roi = frame[height - bar :, :filled].astype(np.float32)
        tinted = roi * 0.3 + colour * 255 * 0.7
        frame[height - bar :, :filled] = (tinted + 0.5).astype(np.uint8)


def light_colour(palette: Array) -> Array:
    """The palette's brightest colour lifted toward white, for accents."""
    brightest = palette[int(np.argmax(palette.sum(axis=1)))]
    lifted: Array = (brightest * 0.5 + 0.5).astype(np.float32)
    return lifted
