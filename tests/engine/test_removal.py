from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.engine import removal
from studio.engine.errors import EngineError
from studio.engine.media import probe
from studio.engine.removal import prepare_mask, remove_object
from studio.engine.transcode import make_gif
from tests.engine.helpers import (
    decode_rgb,
    mean_abs,
    moov_before_mdat,
    only_files,
    psnr,
    stream_facts,
)
from tests.factories import add_sine_audio, save_image, textured, write_clip

WIDTH, HEIGHT, FRAMES = 640, 360, 48
OBJECT = np.s_[140:220, 280:380]  # rows, columns of the red box in the source


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2 s 640x360 pan over a photo-like texture with a red box stuck on it, and a tone."""
    folder = tmp_path_factory.mktemp("scene")
    wide = textured(HEIGHT, WIDTH + 2 * FRAMES, seed=11)

    def frame(index: int) -> np.ndarray:
        picture = wide[:, index * 2 : index * 2 + WIDTH].copy()
        picture[OBJECT] = (235, 25, 25)
        return picture

    silent = write_clip(folder / "silent.mp4", frame, FRAMES)
    # The painter exports at the video's size; this one is twice that, which
    # must be scaled down, not refused.
    mask = np.zeros((HEIGHT * 2, WIDTH * 2), np.uint8)
    mask[OBJECT[0].start * 2 : OBJECT[0].stop * 2, OBJECT[1].start * 2 : OBJECT[1].stop * 2] = 255
    return {
        "video": add_sine_audio(silent, folder / "scene.mp4"),
        "silent": silent,
        "mask": save_image(mask, folder / "mask.jpg", quality=95),
    }


@pytest.fixture(scope="module")
def removed(scene: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("removed") / "removed.mp4"
    remove_object(scene["video"], scene["mask"], dest)
    return dest


def _object_mask() -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[OBJECT] = True
    return mask


def test_removal_keeps_size_length_audio_and_moov_first(
    removed: Path, scene: dict[str, Path]
) -> None:
    before, after = probe(scene["video"]), probe(removed)
    assert (after.width, after.height) == (WIDTH, HEIGHT)
    assert after.frame_count == before.frame_count == FRAMES
    assert after.duration_seconds == pytest.approx(before.duration_seconds, abs=0.05)
    assert after.has_audio
    assert stream_facts(removed) == {"codec": "h264", "pix_fmt": "yuv420p", "audio": ["aac"]}
    assert moov_before_mdat(removed)


def test_outside_the_mask_the_video_is_near_identical(
    removed: Path, scene: dict[str, Path]
) -> None:
    # Leave out the mask, its dilation and a margin where the fill may reach.
    grown = cv2.dilate(_object_mask().astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    values = [
        psnr(a[~grown], b[~grown])
        for a, b in zip(decode_rgb(scene["video"]), decode_rgb(removed), strict=True)
    ]
    assert min(values) > 40


def test_the_masked_object_is_gone_and_the_fill_matches_its_surroundings(
    removed: Path, scene: dict[str, Path]
) -> None:
    inside = _object_mask()
    grown = cv2.dilate(inside.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    ring = (cv2.dilate(inside.astype(np.uint8), np.ones((45, 45), np.uint8)) > 0) & ~grown
    for before, after in zip(
        decode_rgb(scene["video"])[::8], decode_rgb(removed)[::8], strict=True
    ):
        assert mean_abs(before[inside], after[inside]) > 60  # the red box changed...
        fill = after[inside].astype(float).mean(axis=0)
        around = after[ring].astype(float).mean(axis=0)
        assert np.abs(fill - around).max() < 20  # ...into the colours around it
        assert fill[0] < fill[1] + 40  # and it is no longer red


def test_temporal_smoothing_steadies_the_fill(
    scene: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A still shot with sensor-like noise: without smoothing the noise on the
    # mask's edge is smeared into the fill and it shimmers from frame to frame.
    still = textured(HEIGHT, WIDTH, seed=12)
    rng = np.random.default_rng(0)

    def frame(index: int) -> np.ndarray:
        noisy = still.astype(np.int16) + rng.integers(-12, 13, still.shape, dtype=np.int16)
        picture = np.clip(noisy, 0, 255).astype(np.uint8)
        picture[OBJECT] = (235, 25, 25)
        return picture

    noisy = write_clip(tmp_path / "noisy.mp4", frame, 24)
    inside = _object_mask()

    def flicker(path: Path) -> float:
        frames = decode_rgb(path)
        steps = [mean_abs(a[inside], b[inside]) for a, b in zip(frames, frames[1:], strict=False)]
        return float(np.mean(steps))

    smooth = tmp_path / "smooth.mp4"
    remove_object(noisy, scene["mask"], smooth)
    monkeypatch.setattr(removal, "SMOOTHING", 0.0)
    raw = tmp_path / "raw.mp4"
    remove_object(noisy, scene["mask"], raw)
    assert flicker(smooth) < flicker(raw) * 0.75
    assert not probe(smooth).has_audio


def test_mask_is_binarized_scaled_and_dilated() -> None:
    soft = np.zeros((72, 128), np.uint8)
    soft[20:40, 40:80] = 200  # painted
    soft[50:60, 10:20] = 100  # a faint smudge below 50 %: ignored
    mask = prepare_mask(soft, 1280, 720)
    assert mask.shape == (720, 1280)
    assert set(np.unique(mask)) == {0, 255}
    assert mask[300, 600] == 255
    assert mask[550, 150] == 0
    # Dilated a few pixels past the painted edge (row 200 at full size).
    assert mask[197, 600] == 255 and mask[180, 600] == 0


@pytest.mark.parametrize(
    ("shape", "fill", "message"),
    [
        ((400, 400), 255, "must have the video's shape"),
        ((360, 640), 0, "mask is empty"),
        ((360, 640), 255, "more than half"),
    ],
)
def test_bad_masks_fail_clearly_and_leave_no_file(
    scene: dict[str, Path], tmp_path: Path, shape: tuple[int, int], fill: int, message: str
) -> None:
    mask = np.full(shape, 0, np.uint8)
    mask[: shape[0] // 2 + 40, : shape[1] // 2 + 40] = fill
    if fill == 255 and shape == (360, 640):
        mask[:] = 255
    path = save_image(mask, tmp_path / "mask.png")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EngineError, match=message):
        remove_object(scene["video"], path, out / "removed.mp4")
    assert only_files(out) == []


def test_a_mask_that_is_not_an_image_is_refused(scene: dict[str, Path], tmp_path: Path) -> None:
    fake = tmp_path / "mask.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(EngineError):
        remove_object(scene["video"], fake, tmp_path / "removed.mp4")
    assert only_files(tmp_path) == ["mask.png"]


def test_a_source_without_video_is_refused(
    audio_only: Path, scene: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(EngineError, match="no video stream"):
        remove_object(audio_only, scene["mask"], tmp_path / "removed.mp4")
    assert only_files(tmp_path) == []


def test_a_source_cut_short_is_refused_as_damaged(
    removed: Path, scene: dict[str, Path], tmp_path: Path
) -> None:
    # moov first (faststart), then 60 % of the frames: readable, but damaged.
    data = removed.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EngineError, match="damaged: only"):
        remove_object(cut, scene["mask"], out / "removed.mp4")
    with pytest.raises(EngineError, match="damaged: only"):
        make_gif(cut, out / "clip.gif")
    assert only_files(out) == []


def test_a_truncated_source_fails_cleanly(scene: dict[str, Path], tmp_path: Path) -> None:
    data = scene["video"].read_bytes()
    cut = tmp_path / "cut.mp4"
    # Cut inside the moov box at the front: nothing playable remains.
    cut.write_bytes(data[:200])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EngineError):
        remove_object(cut, scene["mask"], out / "removed.mp4")
    assert only_files(out) == []
