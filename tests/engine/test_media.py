from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.engine.errors import EngineError
from studio.engine.media import (
    extract_frame,
    last_frame_time,
    make_poster,
    make_thumbnail,
    open_image,
    open_mask,
    probe,
)
from studio.engine.output import Progress
from studio.engine.transcode import make_gif
from tests.engine.helpers import only_files
from tests.factories import save_image


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def test_probe_reports_size_duration_rate_and_codec(draft_720p: Path) -> None:
    info = probe(draft_720p)
    assert (info.width, info.height) == (1280, 720)
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)
    assert info.fps == pytest.approx(24.0)
    assert info.codec == "h264"
    assert info.frame_count == 96
    assert info.has_audio is False


def test_probe_sees_that_a_clip_has_audio(small_clip: Path) -> None:
    assert probe(small_clip).has_audio is True


def test_probe_refuses_a_file_without_a_video_stream(audio_only: Path) -> None:
    with pytest.raises(EngineError, match="no video stream"):
        probe(audio_only)


def test_probe_refuses_bytes_that_are_not_a_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(EngineError, match="not a video"):
        probe(junk)


def test_probe_refuses_a_still_image(tmp_path: Path) -> None:
    picture = save_image(np.zeros((64, 64, 3), np.uint8), tmp_path / "still.png")
    with pytest.raises(EngineError, match="not a video"):
        probe(picture)


def test_a_playlist_posing_as_a_video_is_never_followed(tmp_path: Path) -> None:
    # An HLS playlist named .mp4 would make FFmpeg fetch what it lists.
    playlist = tmp_path / "clip.mp4"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
        f"file://{tmp_path}/secret.ts\n#EXT-X-ENDLIST\n"
    )
    with pytest.raises(EngineError, match="not a video"):
        probe(playlist)
    with pytest.raises(EngineError):
        make_gif(playlist, tmp_path / "out.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_poster_is_a_full_size_jpeg_from_a_little_into_the_clip(
    draft_720p: Path, tmp_path: Path
) -> None:
    poster = tmp_path / "poster.jpg"
    make_poster(draft_720p, poster)
    with Image.open(poster) as image:
        assert image.format == "JPEG"
        assert image.size == (1280, 720)
    # Not the first frame: the draft's caption has started appearing by then.
    first = np.asarray(extract_frame(draft_720p, 0), dtype=np.float64)
    shown = np.asarray(Image.open(poster).convert("RGB"), dtype=np.float64)
    assert np.abs(shown - first).mean() > 1


def test_thumbnail_is_a_480_wide_jpeg_with_the_clip_aspect(
    draft_720p: Path, tmp_path: Path
) -> None:
    thumb = tmp_path / "thumb.jpg"
    make_thumbnail(draft_720p, thumb)
    with Image.open(thumb) as image:
        assert image.format == "JPEG"
        assert image.size == (480, 270)
    assert only_files(tmp_path) == ["thumb.jpg"]


def test_extract_frame_past_the_end_gives_the_last_frame(draft_720p: Path) -> None:
    info = probe(draft_720p)
    last = np.asarray(extract_frame(draft_720p, last_frame_time(info)))
    beyond = np.asarray(extract_frame(draft_720p, info.duration_seconds + 5))
    earlier = np.asarray(extract_frame(draft_720p, 1.0))
    assert last.shape == (720, 1280, 3)
    assert np.array_equal(last, beyond)
    assert not np.array_equal(last, earlier)


def test_open_image_applies_exif_orientation(tmp_path: Path) -> None:
    # Stored sideways (200 wide, 100 high) with the tag saying "rotate 90 clockwise".
    stored = np.zeros((100, 200, 3), np.uint8)
    stored[:, :100] = (255, 0, 0)
    stored[:, 100:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save_image(stored, tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    upright = open_image(path)
    assert upright.size == (100, 200)
    pixels = np.asarray(upright)
    assert pixels[10, 50, 0] > 200  # red on top
    assert pixels[190, 50, 2] > 200  # blue at the bottom


def test_open_image_refuses_files_that_are_not_images(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("<html>not an image</html>")
    with pytest.raises(EngineError, match="not an image"):
        open_image(fake)


def test_open_image_refuses_a_truncated_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    full = save_image(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8), tmp_path / "a.jpg")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(EngineError, match="damaged or incomplete"):
        open_image(cut)


def test_open_image_refuses_a_decompression_bomb_before_decoding(tmp_path: Path) -> None:
    bomb = _png_header_only(tmp_path / "bomb.png", 10_000, 5_000)
    assert bomb.stat().st_size < 1000
    with pytest.raises(EngineError, match="larger than 40 megapixels"):
        open_image(bomb)


def test_open_image_refuses_what_pillow_itself_calls_a_bomb(tmp_path: Path) -> None:
    bomb = _png_header_only(tmp_path / "bigger.png", 20_000, 20_000)
    with pytest.raises(EngineError):
        open_image(bomb)


def test_open_image_lays_transparency_on_dark_grey(tmp_path: Path) -> None:
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 255  # red, but fully transparent
    image = open_image(save_image(rgba, tmp_path / "clear.png"))
    assert image.mode == "RGB"
    assert np.asarray(image).max() < 40


def test_open_mask_treats_transparent_pixels_as_keep(tmp_path: Path) -> None:
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., :3] = 255  # white everywhere...
    rgba[8:16, 8:16, 3] = 255  # ...but only this square is painted
    mask = open_mask(save_image(rgba, tmp_path / "painted.png"))
    assert mask[12, 12] == 255
    assert mask[0, 0] == 0


def test_progress_spans_climb_steadily_to_the_end() -> None:
    seen: list[int] = []
    report = Progress(seen.append)
    report.fraction(0.1)
    first, second = report.span(0, 50), report.span(50, 100)
    for step in range(11):
        first.fraction(step / 10)
    second.fraction(0.0)
    first.fraction(0.2)  # a late report from an earlier stage changes nothing
    second.fraction(1.0)
    assert seen == sorted(set(seen))
    assert seen[0] == 10 and seen[-1] == 100
