"""Scene export on real media: length, frame, sound."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.engine.errors import EngineError
from studio.engine.media import probe
from studio.engine.scene import Clip, export_scene
from tests.factories import add_sine_audio, clip_bytes


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scene")
    wide = folder / "wide.mp4"
    wide.write_bytes(clip_bytes(320, 180, 2.0))
    tall = folder / "tall.mp4"
    tall.write_bytes(clip_bytes(90, 160, 2.0))
    small = folder / "small.mp4"
    small.write_bytes(clip_bytes(160, 90, 2.0))
    return {"wide": wide, "tall": tall, "sound": add_sine_audio(small, folder / "sound.mp4")}


def test_an_export_lasts_the_sum_of_its_trimmed_shots(clips: dict[str, Path], tmp_path: Path):
    dest = tmp_path / "scene.mp4"
    shots = [
        Clip(clips["wide"], 0.5, 1.5),
        Clip(clips["tall"], 0, 2.0),
        Clip(clips["wide"], 1, 1.5),
    ]
    seen: list[int] = []
    export_scene(shots, dest, progress=seen.append)
    info = probe(dest)
    assert info.duration_seconds == pytest.approx(3.5, abs=0.1)
    # The largest shot sets the frame; the portrait shot is letterboxed into it.
    assert (info.width, info.height) == (320, 180)
    assert not info.has_audio
    assert seen[-1] == 100


def test_crossfades_shorten_the_export_by_one_fade_per_join(clips: dict[str, Path], tmp_path: Path):
    dest = tmp_path / "faded.mp4"
    shots = [Clip(clips["wide"], 0, 2.0), Clip(clips["sound"], 0, 2.0), Clip(clips["tall"], 0, 1.5)]
    export_scene(shots, dest, crossfade=0.5)
    info = probe(dest)
    assert info.duration_seconds == pytest.approx(5.5 - 2 * 0.5, abs=0.1)
    assert (info.width, info.height) == (320, 180)


def test_sound_is_kept_when_one_shot_has_it(clips: dict[str, Path], tmp_path: Path):
    dest = tmp_path / "sound.mp4"
    export_scene([Clip(clips["wide"], 0, 1.0), Clip(clips["sound"], 0.5, 2.0)], dest)
    info = probe(dest)
    assert info.has_audio
    assert info.duration_seconds == pytest.approx(2.5, abs=0.1)


@pytest.mark.parametrize(
    ("shot", "message"),
    [
        ((0.0, 9.0), "outside its clip"),
        ((1.5, 1.0), "ends before it starts"),
        ((-1.0, 1.0), "outside"),
    ],
)
def test_a_trim_outside_the_clip_or_backwards_is_refused(
    clips: dict[str, Path], tmp_path: Path, shot: tuple[float, float], message: str
):
    with pytest.raises(EngineError, match=message):
        export_scene([Clip(clips["wide"], *shot)], tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.mp4").exists()


def test_an_empty_scene_is_refused(tmp_path: Path):
    with pytest.raises(EngineError, match="no shots"):
        export_scene([], tmp_path / "empty.mp4")
