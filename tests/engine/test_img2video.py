from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.engine.errors import EngineError
from studio.engine.ingredients import ingredients2video
from studio.engine.media import cover_fit, open_image, probe
from studio.engine.motion import camera_move_for, crossfade, ease, img2video
from tests.engine.helpers import frames_at, mean_abs, moov_before_mdat, only_files, stream_facts
from tests.factories import save_image, textured


@pytest.fixture(scope="module")
def pan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Start and end frames of a camera pan across a wide scene, and the true middle."""
    folder = tmp_path_factory.mktemp("pan")
    scene = textured(720, 1280 + 240, seed=5)
    return {
        "start": save_image(scene[:, :1280], folder / "start.png"),
        "end": save_image(scene[:, 240:], folder / "end.png"),
        "middle": save_image(scene[:, 120 : 120 + 1280], folder / "middle.png"),
    }


@pytest.fixture(scope="module")
def transition(pan: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("transition") / "transition.mp4"
    img2video([pan["start"], pan["end"]], "", "16:9", 4, dest)
    return dest


def test_transition_is_720p_h264_with_moov_first(transition: Path) -> None:
    info = probe(transition)
    assert (info.width, info.height, info.frame_count) == (1280, 720, 96)
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)
    assert stream_facts(transition)["codec"] == "h264"
    assert moov_before_mdat(transition)


def test_transition_middle_differs_from_both_ends_and_from_a_crossfade(
    transition: Path, pan: dict[str, Path]
) -> None:
    start, end, truth = (
        cover_fit(open_image(pan[key]), 1280, 720) for key in ("start", "end", "middle")
    )
    (middle,) = frames_at(transition, [48])
    fade = crossfade(start, end, ease(48 / 95))
    assert mean_abs(middle, start) > 10
    assert mean_abs(middle, end) > 10
    assert mean_abs(middle, fade) > 8
    # And it is the motion that makes the difference: the flow-interpolated
    # frame is close to the real halfway view, the crossfade is not. (Edges
    # left out: new ground enters there.)
    inner = np.s_[:, 160:-160]
    assert mean_abs(middle[inner], truth[inner]) < 6
    assert mean_abs(fade[inner], truth[inner]) > 3 * mean_abs(middle[inner], truth[inner])


def test_transition_starts_and_ends_on_the_given_frames(
    transition: Path, pan: dict[str, Path]
) -> None:
    first, last = frames_at(transition, [0, 95])
    assert mean_abs(first, cover_fit(open_image(pan["start"]), 1280, 720)) < 3
    assert mean_abs(last, cover_fit(open_image(pan["end"]), 1280, 720)) < 3


def test_one_portrait_phone_photo_becomes_an_upright_cover_cropped_camera_move(
    tmp_path: Path,
) -> None:
    # Upright it is portrait: red above blue. Stored sideways with EXIF orientation 6.
    upright = np.zeros((900, 600, 3), np.uint8)
    upright[:450] = (220, 30, 30)
    upright[450:] = (30, 30, 220)
    upright[:, 290:310] = (250, 250, 250)  # a vertical stripe to see the camera move
    stored = np.rot90(upright, k=1)  # what a phone writes before tagging "rotate 90 CW"
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = save_image(np.ascontiguousarray(stored), tmp_path / "phone.jpg", exif=exif.tobytes())
    dest = tmp_path / "move.mp4"
    img2video([photo], "slow zoom in on the stripe", "16:9", 4, dest)
    info = probe(dest)
    assert (info.width, info.height) == (1280, 720)
    first, last = frames_at(dest, [0, 95])
    for frame in (first, last):
        # Upright: red at the top, blue at the bottom, and no bars anywhere.
        assert frame[20, 400, 0] > 180 and frame[20, 400, 2] < 80
        assert frame[700, 400, 2] > 180 and frame[700, 400, 0] < 80
        assert frame[:, :8].mean() > 40 and frame[:, -8:].mean() > 40

    # The camera zoomed in: the stripe is wider at the end.
    def stripe_width(frame: np.ndarray) -> int:
        return int((frame[360].min(axis=1) > 200).sum())

    assert stripe_width(last) > stripe_width(first) * 1.1
    assert only_files(tmp_path) == ["move.mp4", "phone.jpg"]


def test_prompt_words_pick_the_camera_move() -> None:
    start, end = camera_move_for("Pan left across the harbour")
    assert end.x < start.x and start.zoom == end.zoom
    start, end = camera_move_for("A slow zoom out from the flower")
    assert end.zoom < start.zoom


def test_ingredients_compose_up_to_three_pictures_into_a_moving_vertical_shot(
    tmp_path: Path,
) -> None:
    colours = [(220, 40, 40), (40, 200, 80), (40, 80, 220)]
    pictures = [
        save_image(np.full((300, 400, 3), colour, np.uint8), tmp_path / f"{i}.png")
        for i, colour in enumerate(colours)
    ]
    dest = tmp_path / "ingredients.mp4"
    ingredients2video(pictures, "A fox, a robot and a teapot", "9:16", 4, 9, dest)
    info = probe(dest)
    assert (info.width, info.height, info.frame_count) == (720, 1280, 96)
    assert moov_before_mdat(dest)
    early, late = frames_at(dest, [30, 95])
    assert mean_abs(early, late) > 2
    # Every reference shows up in the last frame.
    pixels = late.reshape(-1, 3).astype(int)
    for colour in colours:
        near = np.abs(pixels - np.array(colour)).sum(axis=1) < 40
        assert near.mean() > 0.02


@pytest.mark.parametrize("count", [0, 3])
def test_img2video_takes_one_or_two_images(tmp_path: Path, count: int) -> None:
    pictures = [
        save_image(np.zeros((64, 64, 3), np.uint8), tmp_path / f"{i}.png") for i in range(count)
    ]
    with pytest.raises(EngineError, match="start frame"):
        img2video(pictures, "", "16:9", 4, tmp_path / "out.mp4")
    assert "out.mp4" not in only_files(tmp_path)


def test_ingredients_refuse_a_fourth_image(tmp_path: Path) -> None:
    pictures = [
        save_image(np.zeros((64, 64, 3), np.uint8), tmp_path / f"{i}.png") for i in range(4)
    ]
    with pytest.raises(EngineError, match="1 to 3"):
        ingredients2video(pictures, "", "16:9", 4, 1, tmp_path / "out.mp4")
    assert "out.mp4" not in only_files(tmp_path)


def test_a_file_that_is_not_an_image_fails_the_job_and_leaves_no_file(tmp_path: Path) -> None:
    fake = tmp_path / "start.jpg"
    fake.write_bytes(b"GIF89a but not really")
    with pytest.raises(EngineError):
        img2video([fake], "", "16:9", 4, tmp_path / "out.mp4")
    assert only_files(tmp_path) == ["start.jpg"]
