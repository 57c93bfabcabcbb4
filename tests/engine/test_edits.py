"""Extend, reshoot and insert on real media: lengths, sizes, where the edit shows, what stays."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.engine.edits import MOVES, extend, insert_object, reshoot
from studio.engine.errors import EngineError
from studio.engine.media import probe
from tests.engine.helpers import decode_rgb, mean_abs, psnr
from tests.factories import add_sine_audio, save_image, textured, write_clip

WIDTH, HEIGHT, FRAMES = 320, 180, 24
PAN = 3  # pixels a frame the source pans to the left (its content moves left)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of 320x180, a photo-like texture panning steadily, with a tone."""
    folder = tmp_path_factory.mktemp("edits")
    wide = textured(HEIGHT, WIDTH + PAN * FRAMES, seed=5)
    silent = write_clip(folder / "silent.mp4", lambda i: wide[:, i * PAN : i * PAN + WIDTH], FRAMES)
    return add_sine_audio(silent, folder / "clip.mp4")


def shift_between(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    grey_a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey_b = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(grey_a, grey_b)
    return dx, dy


def test_extend_makes_the_clip_longer_and_keeps_moving_from_its_last_frame(
    clip: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "extended.mp4"
    extend(clip, "the camera keeps going", dest, seconds=2)
    source, result = probe(clip), probe(dest)
    assert (result.width, result.height) == (WIDTH, HEIGHT)
    assert result.duration_seconds == pytest.approx(source.duration_seconds + 2, abs=0.1)
    assert result.has_audio
    before, after = decode_rgb(clip), decode_rgb(dest)
    assert len(after) == FRAMES + 48
    # The original part is the original, and the extension starts where it ended.
    assert psnr(after[5], before[5]) > 38
    assert psnr(after[FRAMES - 1], before[-1]) > 38
    assert mean_abs(after[FRAMES], before[-1][:, :]) < 12
    # The pan carries on: the content keeps moving left, then the push-in takes over.
    dx, _ = shift_between(after[FRAMES - 1], after[FRAMES + 3])
    assert dx < -2
    assert mean_abs(after[-1], after[FRAMES]) > 5


def test_reshoot_forward_pushes_into_the_centre_and_starts_on_the_original_frame(
    clip: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "forward.mp4"
    reshoot(clip, "FORWARD", dest)
    source, result = probe(clip), probe(dest)
    assert (result.width, result.height) == (WIDTH, HEIGHT)
    assert result.duration_seconds == pytest.approx(source.duration_seconds, abs=0.05)
    assert result.has_audio
    before, after = decode_rgb(clip), decode_rgb(dest)
    assert len(after) == len(before)
    # Zoom 1 on the first frame: untouched.
    assert psnr(after[0], before[0]) > 38
    # The last frame is the centre of the source's, 1.3 times larger.
    h, w = HEIGHT, WIDTH
    crop = before[-1][
        round(h / 2 - h / 2.6) : round(h / 2 + h / 2.6),
        round(w / 2 - w / 2.6) : round(w / 2 + w / 2.6),
    ]
    expected = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
    assert psnr(after[-1], expected) > 25
    assert psnr(after[-1], before[-1]) < psnr(after[-1], expected) - 5


@pytest.mark.parametrize(("motion", "direction"), [("LEFT_TO_RIGHT", -1), ("RIGHT_TO_LEFT", 1)])
def test_reshoot_tracking_moves_the_picture_against_the_camera(
    clip: Path, tmp_path: Path, motion: str, direction: int
) -> None:
    dest = tmp_path / f"{motion}.mp4"
    reshoot(clip, motion, dest)
    before, after = decode_rgb(clip), decode_rgb(dest)
    # Relative to the source's own pan (seen 1.25 times larger through the
    # camera's zoom), the camera's travel shows as extra shift.
    source_dx, _ = shift_between(before[0], before[12])
    result_dx, _ = shift_between(after[0], after[12])
    assert direction * (result_dx - 1.25 * source_dx) > 20


def test_every_motion_type_renders(clip: Path, tmp_path: Path) -> None:
    for motion in MOVES:
        dest = tmp_path / f"{motion}.mp4"
        reshoot(clip, motion, dest)
        assert probe(dest).frame_count == FRAMES


def test_reshoot_refuses_an_unknown_camera_move(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="no camera move"):
        reshoot(clip, "SPIN", tmp_path / "spin.mp4")
    assert not list(tmp_path.iterdir())


def test_insert_puts_the_image_in_the_masked_area_and_leaves_the_rest(
    clip: Path, tmp_path: Path
) -> None:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[40:120, 60:160] = 255
    mask_path = save_image(mask, tmp_path / "mask.png")
    red = np.zeros((50, 50, 3), np.uint8)
    red[:] = (230, 20, 20)
    image_path = save_image(red, tmp_path / "red.png")
    dest = tmp_path / "inserted.mp4"
    insert_object(clip, "a red box", dest, mask=mask_path, image=image_path)
    result = probe(dest)
    assert (result.width, result.height, result.frame_count) == (WIDTH, HEIGHT, FRAMES)
    assert result.has_audio
    before, after = decode_rgb(clip), decode_rgb(dest)
    for index in (0, FRAMES // 2, FRAMES - 1):
        # The square image, fitted in the 100x80 box, centred: rows 40-120, columns 70-150.
        inside = after[index][50:110, 80:140].reshape(-1, 3).mean(axis=0)
        assert inside[0] > 200 and inside[1] < 50 and inside[2] < 50
        # Well away from the mask, the picture is the source's.
        outside = np.s_[130:, :]
        assert mean_abs(after[index][outside], before[index][outside]) < 2.5
        # Inside the mask's box but beside the fitted image, the source shows too.
        assert mean_abs(after[index][45:115, 62:68], before[index][45:115, 62:68]) < 4


def test_insert_without_a_mask_or_image_typesets_the_prompt_in_the_default_place(
    clip: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "typeset.mp4"
    insert_object(clip, "a yellow kite", dest)
    before, after = decode_rgb(clip), decode_rgb(dest)
    # The default place is the lower right; the card is yellow with dark words.
    corner = after[0][100:160, 190:280].reshape(-1, 3)
    yellow = (corner[:, 0] > 200) & (corner[:, 1] > 160) & (corner[:, 2] < 110)
    assert yellow.mean() > 0.5
    assert (corner.sum(axis=1) < 200).mean() > 0.01  # the words
    assert mean_abs(after[0][:70, :150], before[0][:70, :150]) < 2.5


def test_insert_refuses_a_mask_of_another_shape_and_an_empty_one(
    clip: Path, tmp_path: Path
) -> None:
    square = save_image(np.full((100, 100), 255, np.uint8), tmp_path / "square.png")
    with pytest.raises(EngineError, match="video's shape"):
        insert_object(clip, "a kite", tmp_path / "a.mp4", mask=square)
    black = save_image(np.zeros((HEIGHT, WIDTH), np.uint8), tmp_path / "black.png")
    with pytest.raises(EngineError, match="empty"):
        insert_object(clip, "a kite", tmp_path / "b.mp4", mask=black)
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "b.mp4").exists()
