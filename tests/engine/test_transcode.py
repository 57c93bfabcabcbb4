from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.engine.errors import EngineError
from studio.engine.media import make_poster, probe
from studio.engine.transcode import make_gif, upscale, upscaled_size
from tests.engine.helpers import decode_rgb, moov_before_mdat, only_files, stream_facts
from tests.factories import textured, write_clip


@pytest.fixture(scope="module")
def upscaled(small_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    dest = tmp_path_factory.mktemp("upscaled") / "big.mp4"
    seen: list[int] = []
    upscale(small_clip, "1080p", dest, seen.append)
    return dest, seen


def test_upscale_to_1080p_keeps_aspect_audio_and_length(
    small_clip: Path, upscaled: tuple[Path, list[int]]
) -> None:
    dest, seen = upscaled
    info = probe(dest)
    assert (info.width, info.height) == (1920, 1080)
    assert info.duration_seconds == pytest.approx(probe(small_clip).duration_seconds, abs=0.05)
    assert info.has_audio
    assert stream_facts(dest) == {"codec": "h264", "pix_fmt": "yuv420p", "audio": ["aac"]}
    assert moov_before_mdat(dest)
    assert seen[0] == 0 and seen[-1] == 100 and seen == sorted(set(seen))
    assert only_files(dest.parent) == ["big.mp4"]


def test_upscale_is_sharper_than_plain_bilinear(
    small_clip: Path, upscaled: tuple[Path, list[int]]
) -> None:
    ours = decode_rgb(upscaled[0])[12].astype(np.float64)
    source = decode_rgb(small_clip)[12]
    plain = np.asarray(
        Image.fromarray(source).resize((1920, 1080), Image.Resampling.BILINEAR), np.float64
    )

    def detail(picture: np.ndarray) -> float:
        return float(np.abs(np.diff(picture, axis=1)).mean())

    assert detail(ours) > detail(plain) * 1.05


def test_upscale_to_4k_of_a_vertical_clip_is_2160_by_3840(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "tall.mp4", [textured(320, 180, seed=i) for i in range(3)])
    dest = tmp_path / "tall4k.mp4"
    upscale(source, "4K", dest)
    info = probe(dest)
    assert (info.width, info.height) == (2160, 3840)
    assert not info.has_audio
    assert moov_before_mdat(dest)


def test_upscaled_size_keeps_the_aspect_with_even_sides() -> None:
    assert upscaled_size(1280, 720, 1920) == (1920, 1080)
    assert upscaled_size(720, 1280, 3840) == (2160, 3840)
    assert upscaled_size(1000, 750, 1920) == (1920, 1440)


@pytest.mark.parametrize(("target", "message"), [("8k", "1080p and 4K"), ("", "1080p and 4K")])
def test_unknown_upscale_targets_are_refused(
    small_clip: Path, tmp_path: Path, target: str, message: str
) -> None:
    with pytest.raises(EngineError, match=message):
        upscale(small_clip, target, tmp_path / "big.mp4")
    assert only_files(tmp_path) == []


def test_upscaling_a_video_already_that_big_is_refused(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "hd.mp4", [textured(1080, 1920)] * 2)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(EngineError, match="already 1920x1080"):
        upscale(source, "1080p", out / "big.mp4")
    assert only_files(out) == []


def test_gif_has_the_chosen_width_and_rate_and_loops(small_clip: Path, tmp_path: Path) -> None:
    dest = tmp_path / "clip.gif"
    seen: list[int] = []
    make_gif(small_clip, dest, fps=10, width=320, progress=seen.append)
    with Image.open(dest) as gif:
        assert gif.format == "GIF"
        assert gif.size == (320, 180)
        assert gif.info.get("loop") == 0
        assert gif.n_frames == 10  # 1 s at 10 fps
        assert gif.info["duration"] == 100  # ms per frame
    assert seen[-1] == 100
    # The job engine probes and posters every result, GIFs included.
    assert probe(dest).width == 320
    make_poster(dest, tmp_path / "poster.jpg")
    assert only_files(tmp_path) == ["clip.gif", "poster.jpg"]


@pytest.mark.parametrize(("fps", "width", "message"), [(0, 480, "frame rate"), (12, 8, "width")])
def test_gif_settings_out_of_range_are_refused(
    small_clip: Path, tmp_path: Path, fps: int, width: int, message: str
) -> None:
    with pytest.raises(EngineError, match=message):
        make_gif(small_clip, tmp_path / "clip.gif", fps=fps, width=width)
    assert only_files(tmp_path) == []


def test_gif_of_something_that_is_not_a_video_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    out = tmp_path / "out"
    with pytest.raises(EngineError):
        make_gif(junk, out / "clip.gif")
    assert not out.exists() or only_files(out) == []
