"""Shared media for the engine tests, made once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from studio.engine.output import ffmpeg_exe
from studio.engine.text import text2video
from tests.factories import add_sine_audio, textured, write_clip


@pytest.fixture(scope="session")
def draft_720p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real 1280x720 4 s text2video draft, shared by the tests that only measure it."""
    dest = tmp_path_factory.mktemp("draft") / "draft.mp4"
    text2video("A red fox runs through a snowy forest at dawn", 7, "16:9", 4, dest, lambda p: None)
    return dest


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """640x360, 1 s, a panning texture with a sine tone."""
    folder = tmp_path_factory.mktemp("small")
    wide = textured(360, 640 + 48, seed=3)
    silent = write_clip(folder / "silent.mp4", lambda i: wide[:, i * 2 : i * 2 + 640], 24)
    return add_sine_audio(silent, folder / "small.mp4")


@pytest.fixture(scope="session")
def audio_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("audio") / "tone.m4a"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1"]
        + ["-c:a", "aac", str(dest)],
        check=True,
    )
    return dest
