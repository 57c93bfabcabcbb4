from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from studio.engine import render as engine
from studio.engine.errors import EngineError
from studio.providers.base import InputImage, SourceVideo, SubmitRequest
from studio.providers.local import LocalProvider
from studio.providers.registry import provider_class
from tests.factories import save_image


def _request(mode: str, **fields: Any) -> SubmitRequest:
    return SubmitRequest(job_id="job-1", mode=mode, model="draft", prompt="a cat", **fields)


def test_local_provider_is_registered_and_renders_in_process() -> None:
    assert provider_class("local") is LocalProvider
    provider = LocalProvider()
    assert provider.name == "local"
    assert provider.label == "Local draft engine (offline)"
    assert provider.remote is False


def test_local_provider_is_on_unless_switched_off(settings: Any) -> None:
    assert LocalProvider().is_configured() is True
    settings.STUDIO_LOCAL_ENGINE = False
    assert LocalProvider().is_configured() is False


def test_local_offers_one_free_offline_draft_model_for_every_mode() -> None:
    (spec,) = LocalProvider().models()
    assert spec.name == "draft"
    assert spec.label == "Offline draft"
    assert spec.modes == {
        "text2video",
        "img2video",
        "ingredients2video",
        "removal",
        "upscale",
        "gif",
        "scene_export",
        "extend",
        "reshoot",
        "insert",
    }
    assert LocalProvider.edit_modes == {"extend", "reshoot", "insert"}
    assert spec.images_for("insert") == (0, 1)
    assert spec.aspect_ratios == ("16:9", "9:16")
    assert spec.durations == (4, 6, 8)
    assert spec.images_for("img2video") == (1, 2)
    assert spec.images_for("ingredients2video") == (1, 3)
    assert spec.cost == 0
    assert "not AI video" in spec.note


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    recorded: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    for name in engine.__all__:
        if name == "EngineError":
            continue

        def fake(*args: Any, _name: str = name, **kwargs: Any) -> None:
            recorded.append((_name, args, kwargs))

        monkeypatch.setattr(engine, name, fake)
    return recorded


def _progress(percent: int) -> None:
    pass


def test_text2video_gets_prompt_seed_aspect_and_duration(calls: list[Any], tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    request = _request("text2video", aspect_ratio="9:16", duration_seconds=6, seed=5)
    LocalProvider().render(request, dest, _progress)
    assert calls == [("text2video", ("a cat", 5, "9:16", 6, dest, _progress), {})]


def test_missing_duration_and_seed_get_reproducible_defaults(
    calls: list[Any], tmp_path: Path
) -> None:
    LocalProvider().render(_request("text2video"), tmp_path / "out.mp4", _progress)
    (_, args, _) = calls[0]
    assert args[1:4] == (0, "16:9", 8)


def test_img2video_puts_the_start_frame_before_the_end_frame(
    calls: list[Any], tmp_path: Path
) -> None:
    images = (
        InputImage(role="end", path=tmp_path / "end.png", content_type="image/png"),
        InputImage(role="start", path=tmp_path / "start.png", content_type="image/png"),
    )
    LocalProvider().render(_request("img2video", images=images), tmp_path / "o.mp4", _progress)
    (name, args, _) = calls[0]
    assert name == "img2video"
    assert args[0] == [tmp_path / "start.png", tmp_path / "end.png"]


def test_edits_get_the_source_video_mask_and_params(calls: list[Any], tmp_path: Path) -> None:
    source = SourceVideo(path=tmp_path / "in.mp4", width=1280, height=720)
    dest = tmp_path / "out.mp4"
    provider = LocalProvider()
    provider.render(
        _request("removal", source_video=source, mask_path=tmp_path / "m.png"), dest, _progress
    )
    provider.render(
        _request("upscale", source_video=source, params={"target": "4k"}), dest, _progress
    )
    gif = tmp_path / "out.gif"
    provider.render(
        _request("gif", source_video=source, params={"fps": "8", "width": 320}), gif, _progress
    )
    assert calls == [
        ("remove_object", (source.path, tmp_path / "m.png", dest, _progress), {}),
        ("upscale", (source.path, "4k", dest, _progress), {}),
        ("make_gif", (source.path, gif), {"fps": 8, "width": 320, "progress": _progress}),
    ]


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"mode": "removal"}, "needs a source video"),
        ({"mode": "lipsync"}, "cannot do"),
        ({"mode": "extend"}, "needs a source video"),
        ({"mode": "gif", "params": {"fps": "fast"}}, "whole number"),
    ],
)
def test_incomplete_requests_fail_as_engine_errors(
    calls: list[Any], tmp_path: Path, request_fields: dict[str, Any], message: str
) -> None:
    fields = dict(request_fields)
    mode = fields.pop("mode")
    if mode == "gif":
        fields["source_video"] = SourceVideo(path=tmp_path / "in.mp4", width=64, height=64)
    with pytest.raises(EngineError, match=message):
        LocalProvider().render(_request(mode, **fields), tmp_path / "out.mp4", _progress)
    assert calls == []


def test_removal_without_a_mask_fails_as_an_engine_error(tmp_path: Path) -> None:
    source = SourceVideo(path=tmp_path / "in.mp4", width=64, height=64)
    with pytest.raises(EngineError, match="needs a mask"):
        LocalProvider().render(
            _request("removal", source_video=source), tmp_path / "o.mp4", _progress
        )


def test_a_real_gif_through_the_provider(small_clip: Path, tmp_path: Path) -> None:
    source = SourceVideo(path=small_clip, width=640, height=360)
    dest = tmp_path / "out.gif"
    seen: list[int] = []
    LocalProvider().render(_request("gif", source_video=source), dest, seen.append)
    with Image.open(dest) as gif:
        assert gif.size == (480, 270)
    assert seen[-1] == 100


def test_engine_errors_come_through_unchanged(small_clip: Path, tmp_path: Path) -> None:
    source = SourceVideo(path=small_clip, width=640, height=360)
    empty = save_image(np.zeros((360, 640), np.uint8), tmp_path / "mask.png")
    request = _request("removal", source_video=source, mask_path=empty)
    with pytest.raises(EngineError, match="mask is empty") as caught:
        LocalProvider().render(request, tmp_path / "out" / "o.mp4", _progress)
    assert type(caught.value) is EngineError
    assert not (tmp_path / "out" / "o.mp4").exists()


def _loaded_after(statement: str) -> set[str]:
    """Top-level modules a fresh interpreter has loaded after `statement`."""
    listing = "print(' '.join({m.split('.')[0] for m in sys.modules}))"
    code = f"import sys; {statement}; {listing}"
    root = Path(__file__).resolve().parents[2]
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=root, env=env, capture_output=True, text=True
    )
    return set(result.stdout.split())


def test_the_engine_never_imports_django() -> None:
    assert "django" not in _loaded_after("import studio.engine.render")


def test_listing_capabilities_does_not_load_the_engine() -> None:
    # The web process imports the provider module for its capabilities only.
    loaded = _loaded_after("from studio.providers.local import LocalProvider")
    assert not loaded & {"cv2", "av", "numpy"}
