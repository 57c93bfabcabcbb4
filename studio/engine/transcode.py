"""Upscale and GIF for any video in Studio, through the ffmpeg binary.

ffmpeg's own scaler and palette filters are both better and faster than
anything we would write around PyAV: Lanczos plus a mild unsharp mask for
upscaling, and a per-clip palette (palettegen/paletteuse) for GIFs, which
come out several times smaller than a fixed-palette encoder's.
"""

from __future__ import annotations

from pathlib import Path

from studio.engine.errors import EngineError
from studio.engine.media import probe
from studio.engine.output import (
    Progress,
    ProgressCallback,
    atomic_output,
    no_progress,
    run_ffmpeg,
)

UPSCALE_TARGETS = {"1080p": 1920, "4k": 3840}
GIF_FPS = range(1, 31)
GIF_WIDTHS = range(64, 1281)


def upscaled_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """The size with `long_side` on the longer edge, aspect kept, both sides even."""
    if width >= height:
        return long_side, max(2, round(height * long_side / width / 2) * 2)
    return max(2, round(width * long_side / height / 2) * 2), long_side


def upscale(video: Path, target: str, dest: Path, progress: ProgressCallback = no_progress) -> None:
    """Scale `video` up to 1080p or 4K (long side 1920 / 3840), keeping its audio."""
    key = target.strip().lower()
    if key not in UPSCALE_TARGETS:
        raise EngineError("Upscale targets are 1080p and 4K.")
    info = probe(video)
    long_side = UPSCALE_TARGETS[key]
    if max(info.width, info.height) >= long_side:
        raise EngineError(
            f"This video is already {info.width}x{info.height}: nothing to upscale to {target}."
        )
    width, height = upscaled_size(info.width, info.height, long_side)
    report = Progress(progress)
    report.fraction(0)
    # 4K frames are four times the work: a faster preset keeps it in minutes.
    preset = "veryfast" if key == "1080p" else "superfast"
    filters = f"scale={width}:{height}:flags=lanczos,unsharp=5:5:0.6:3:3:0.0,format=yuv420p"
    with atomic_output(dest) as out:
        args = ["-i", str(video), "-map", "0:v:0", "-map", "0:a:0?", "-vf", filters]
        args += ["-c:v", "libx264", "-preset", preset, "-crf", "18", "-pix_fmt", "yuv420p"]
        args += ["-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", str(out.path)]
        run_ffmpeg(
            args,
            duration_seconds=info.duration_seconds,
            progress=report.span(0, 99),
            failure="The video could not be upscaled.",
        )
    report.fraction(1)


def make_gif(
    video: Path,
    dest: Path,
    fps: int = 12,
    width: int = 480,
    progress: ProgressCallback = no_progress,
) -> None:
    """An endlessly looping GIF of `video` at `fps` frames per second, `width` pixels wide."""
    if fps not in GIF_FPS:
        raise EngineError("GIF frame rate must be between 1 and 30.")
    if width not in GIF_WIDTHS:
        raise EngineError("GIF width must be between 64 and 1280 pixels.")
    info = probe(video)
    report = Progress(progress)
    report.fraction(0)
    # One pass: the split feeds palettegen (one palette for the whole clip,
    # weighted toward what moves, from every third frame: a third of the cost
    # for the same colours) and paletteuse. Ordered (Bayer) dithering stays
    # put from frame to frame, so the GIF does not crawl and compresses better
    # than error diffusion (measured: 3.0 MB against 5.6 MB for 8 s at 480 px).
    filters = (
        f"fps={fps},scale={width}:-2:flags=lanczos,split[a][b];"
        "[a]select='not(mod(n\\,3))',palettegen=max_colors=256:stats_mode=diff[p];"
        "[b][p]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle"
    )
    with atomic_output(dest) as out:
        run_ffmpeg(
            ["-i", str(video), "-an", "-filter_complex", filters, "-loop", "0"]
            + ["-f", "gif", str(out.path)],
            duration_seconds=info.duration_seconds,
            progress=report.span(0, 99),
            failure="The GIF could not be made.",
        )
    report.fraction(1)
