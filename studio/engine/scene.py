"""Export a scene: trimmed shots joined into one MP4 by the ffmpeg binary.

One ffmpeg run does it all: each shot is read from its in point for its
length (input seeking, so nothing before the in point is decoded), scaled
into a common frame (letterboxed, never cropped) at a common frame rate, and
joined by the concat filter, or by xfade/acrossfade when the scene has
crossfades. Shots without sound get silence of their own length, so the
sound stays in step with the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.engine.errors import EngineError
from studio.engine.media import MediaInfo, probe
from studio.engine.output import (
    X264_PARAMS,
    X264_PRESET,
    Progress,
    ProgressCallback,
    atomic_output,
    ffmpeg_input,
    no_progress,
    run_ffmpeg,
)

MAX_SHOTS = 50
MAX_CROSSFADE = 2.0
# The frame a scene is exported in: the largest shot's, up to 1080 lines.
MAX_HEIGHT = 1080
MAX_FPS = 30.0
DEFAULT_FPS = 24.0
AUDIO_RATE = 48000
# A trim may reach this far past the probed length: container durations are rounded.
TRIM_SLACK = 0.05


@dataclass(frozen=True)
class Clip:
    path: Path
    in_seconds: float
    out_seconds: float

    @property
    def length(self) -> float:
        return self.out_seconds - self.in_seconds


def frame_for(infos: Sequence[MediaInfo]) -> tuple[int, int, float]:
    """The common width, height (even) and frame rate of an export."""
    tallest = max(infos, key=lambda info: info.width * info.height)
    scale = min(1.0, MAX_HEIGHT / tallest.height)
    width = max(2, round(tallest.width * scale / 2) * 2)
    height = max(2, round(tallest.height * scale / 2) * 2)
    rates = [info.fps for info in infos if info.fps > 0]
    fps = min(MAX_FPS, max(rates)) if rates else DEFAULT_FPS
    return width, height, round(fps, 3)


def exported_length(clips: Sequence[Clip], crossfade: float) -> float:
    """The export's length: every trimmed shot, less one crossfade per join."""
    return sum(clip.length for clip in clips) - crossfade * max(0, len(clips) - 1)


def _check(clips: Sequence[Clip], crossfade: float) -> list[MediaInfo]:
    if not clips:
        raise EngineError("The scene has no shots to export.")
    if len(clips) > MAX_SHOTS:
        raise EngineError(f"A scene exports at most {MAX_SHOTS} shots.")
    if not 0 <= crossfade <= MAX_CROSSFADE:
        raise EngineError(f"Crossfades last 0 to {MAX_CROSSFADE:g} seconds.")
    infos = []
    for number, clip in enumerate(clips, start=1):
        info = probe(clip.path)
        if clip.in_seconds < 0 or clip.out_seconds > info.duration_seconds + TRIM_SLACK:
            raise EngineError(f"Shot {number}'s trim is outside its clip.")
        if clip.length <= 0:
            raise EngineError(f"Shot {number} ends before it starts.")
        if len(clips) > 1 and clip.length <= 2 * crossfade:
            raise EngineError(f"Shot {number} is too short for a {crossfade:g} s crossfade.")
        infos.append(info)
    return infos


def _filters(
    clips: Sequence[Clip],
    infos: Sequence[MediaInfo],
    crossfade: float,
    size: tuple[int, int, float],
    with_audio: bool,
) -> str:
    width, height, fps = size
    parts = []
    for i, (clip, info) in enumerate(zip(clips, infos, strict=True)):
        parts.append(
            f"[{i}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps},format=yuv420p,"
            f"trim=duration={clip.length:.6f},setpts=PTS-STARTPTS[v{i}]"
        )
        if not with_audio:
            continue
        if info.has_audio:
            # Padded then cut: a shot's sound that ends early must not pull
            # the following shots' sound ahead of their pictures.
            parts.append(
                f"[{i}:a:0]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
                f"apad,atrim=duration={clip.length:.6f},asetpts=PTS-STARTPTS[a{i}]"
            )
        else:
            parts.append(
                f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=duration={clip.length:.6f},"
                f"aformat=sample_fmts=fltp:channel_layouts=stereo[a{i}]"
            )
    count = len(clips)
    if crossfade <= 0 or count == 1:
        inputs = "".join(f"[v{i}]" + (f"[a{i}]" if with_audio else "") for i in range(count))
        outputs = "[v][a]" if with_audio else "[v]"
        parts.append(f"{inputs}concat=n={count}:v=1:a={int(with_audio)}{outputs}")
        return ";".join(parts)
    joined = clips[0].length
    video, audio = "[v0]", "[a0]"
    for i in range(1, count):
        offset = joined - crossfade
        last = i == count - 1
        video_out = "[v]" if last else f"[xv{i}]"
        parts.append(
            f"{video}[v{i}]xfade=transition=fade:duration={crossfade:.6f}:offset={offset:.6f}"
            f"{video_out}"
        )
        video = video_out
        if with_audio:
            audio_out = "[a]" if last else f"[xa{i}]"
            parts.append(f"{audio}[a{i}]acrossfade=d={crossfade:.6f}{audio_out}")
            audio = audio_out
        joined += clips[i].length - crossfade
    return ";".join(parts)


def export_scene(
    clips: Sequence[Clip],
    dest: Path,
    *,
    crossfade: float = 0.0,
    progress: ProgressCallback = no_progress,
) -> None:
    """Join `clips` into one H.264/AAC MP4 at `dest`."""
    infos = _check(clips, crossfade)
    size = frame_for(infos)
    with_audio = any(info.has_audio for info in infos)
    report = Progress(progress)
    report.fraction(0)
    args: list[str] = []
    for clip in clips:
        # Input seeking: the decoder starts at the key frame before the in
        # point and drops what comes before it, exactly.
        args += ["-ss", f"{clip.in_seconds:.6f}", "-t", f"{clip.length:.6f}"]
        args += ffmpeg_input(clip.path)
    args += ["-filter_complex", _filters(clips, infos, crossfade, size, with_audio)]
    args += ["-map", "[v]"] + (["-map", "[a]", "-c:a", "aac", "-b:a", "160k"] if with_audio else [])
    args += ["-c:v", "libx264", "-preset", X264_PRESET, "-x264-params", X264_PARAMS]
    args += ["-crf", "20", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    total = exported_length(clips, crossfade)
    with atomic_output(dest) as out:
        run_ffmpeg(
            [*args, "-f", "mp4", str(out.path)],
            duration_seconds=total,
            progress=report.span(0, 99),
            failure="The scene could not be exported.",
        )
        made = probe(out.path).duration_seconds
        if made < total * 0.9:
            raise EngineError("The export came out shorter than the scene.")
    report.fraction(1)
