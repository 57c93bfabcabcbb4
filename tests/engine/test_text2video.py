from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.engine.design import Aurora, keyed_rng, palette_from
from studio.engine.errors import EngineError
from studio.engine.media import extract_frame, probe
from studio.engine.text import text2video
from tests.engine.helpers import frames_at, mean_abs, moov_before_mdat, only_files, stream_facts


def test_draft_is_720p_h264_yuv420p_24fps_with_moov_first(draft_720p: Path) -> None:
    info = probe(draft_720p)
    assert (info.width, info.height) == (1280, 720)
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)
    assert info.fps == pytest.approx(24.0)
    facts = stream_facts(draft_720p)
    assert facts["codec"] == "h264"
    assert facts["pix_fmt"] == "yuv420p"
    assert moov_before_mdat(draft_720p)


def test_draft_moves_rather_than_holding_a_still(draft_720p: Path) -> None:
    frames = frames_at(draft_720p, [12, 36, 60, 84])
    for earlier, later in zip(frames, frames[1:], strict=False):
        assert mean_abs(earlier, later) > 2


def test_draft_shows_the_prompt_as_light_text_in_the_middle(draft_720p: Path) -> None:
    frame = np.asarray(extract_frame(draft_720p, 3.9)).astype(np.float64)
    middle, corner = frame[250:470, 200:1080], frame[600:700, 1100:1260]
    # Typeset words: many near-white pixels in the middle band, none in a corner.
    assert (middle.min(axis=2) > 235).mean() > 0.02
    assert (corner.min(axis=2) > 235).mean() == 0


def test_palette_follows_colour_words_in_the_prompt() -> None:
    red = palette_from("a red car under a crimson sky", 1)
    green = palette_from("a green forest with emerald moss", 1)
    assert red[0][0] > red[0][1] and red[0][0] > red[0][2]
    assert green[0][1] > green[0][0] and green[0][1] > green[0][2]


def test_same_prompt_and_seed_give_the_same_bytes(tmp_path: Path) -> None:
    prompt = "Paper lanterns drifting over a calm lake"
    first, second = tmp_path / "1.mp4", tmp_path / "2.mp4"
    seen: list[int] = []
    text2video(prompt, 42, "9:16", 4, first, seen.append)
    text2video(prompt, 42, "9:16", 4, second)
    assert first.read_bytes() == second.read_bytes()
    info = probe(first)
    assert (info.width, info.height) == (720, 1280)
    assert moov_before_mdat(first)
    # Progress for the job card: from 0 to 100, never backwards.
    assert seen[0] == 0 and seen[-1] == 100
    assert seen == sorted(set(seen))
    assert len(seen) > 20


def test_another_seed_changes_the_palette_and_the_picture() -> None:
    prompt = "Paper lanterns drifting over a calm lake"
    assert not np.array_equal(palette_from(prompt, 1), palette_from(prompt, 2))
    one = Aurora(palette_from(prompt, 1), 1280, 720, keyed_rng("aurora", prompt, 1))
    two = Aurora(palette_from(prompt, 2), 1280, 720, keyed_rng("aurora", prompt, 2))
    assert mean_abs(one.render(1.0), two.render(1.0)) > 5


@pytest.mark.parametrize(
    ("prompt", "aspect", "duration", "message"),
    [
        ("", "16:9", 4, "prompt is needed"),
        ("a cat", "4:3", 4, "16:9 or 9:16"),
        ("a cat", "16:9", 5, "4, 6 or 8 seconds"),
    ],
)
def test_bad_requests_fail_clearly_and_leave_no_file(
    tmp_path: Path, prompt: str, aspect: str, duration: int, message: str
) -> None:
    with pytest.raises(EngineError, match=message):
        text2video(prompt, 1, aspect, duration, tmp_path / "out.mp4")
    assert only_files(tmp_path) == []


def test_a_failure_mid_render_leaves_no_partial_file(tmp_path: Path) -> None:
    def stop_at_half(percent: int) -> None:
        if percent >= 50:
            raise RuntimeError("worker shutting down")

    with pytest.raises(RuntimeError):
        text2video("interrupted", 1, "16:9", 4, tmp_path / "out.mp4", stop_at_half)
    assert only_files(tmp_path) == []
