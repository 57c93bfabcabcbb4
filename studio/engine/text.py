"""text2video: an honest draft clip drawn from the prompt itself.

No model runs here. The clip shows the prompt typeset word by word over a
moving colour field whose palette and pace come from the prompt's words and
the seed, labelled as an offline draft. The same prompt and seed give the same
bytes, which makes drafts reproducible and testable.
"""

from __future__ import annotations

from pathlib import Path

from studio.engine.arrays import Array
from studio.engine.design import (
    Aurora,
    Caption,
    Tag,
    draw_timeline,
    keyed_rng,
    light_colour,
    palette_from,
    speed_from,
)
from studio.engine.errors import EngineError
from studio.engine.output import (
    FPS,
    H264Writer,
    Progress,
    ProgressCallback,
    atomic_output,
    frame_count,
    frame_size,
    no_progress,
    opencv_threads,
    write_frames,
)

DRAFT_TAG = "OFFLINE DRAFT"


def text2video(
    prompt: str,
    seed: int,
    aspect_ratio: str,
    duration_seconds: int,
    dest: Path,
    progress: ProgressCallback = no_progress,
) -> None:
    if not prompt.strip():
        raise EngineError("A prompt is needed for a text-to-video draft.")
    width, height = frame_size(aspect_ratio)
    frames = frame_count(duration_seconds)
    report = Progress(progress)
    report.fraction(0)
    palette = palette_from(prompt, seed)
    background = Aurora(
        palette, width, height, keyed_rng("aurora", prompt, seed), speed=speed_from(prompt)
    )
    caption = Caption(
        prompt,
        width,
        height,
        top=0.2,
        bottom=0.8,
        max_size=int(min(width, height) * 0.085),
        reveal_seconds=duration_seconds * 0.45,
    )
    tag = Tag(f"{DRAFT_TAG} · seed {seed}", width, height)
    accent = light_colour(palette)
    with (
        opencv_threads(1),
        atomic_output(dest) as out,
        H264Writer(out.path, width, height) as writer,
    ):

        def draw(index: int) -> Array:
            seconds = index / FPS
            frame = background.render(seconds)
            caption.draw(frame, seconds, index / (frames - 1))
            tag.draw(frame)
            draw_timeline(frame, (index + 1) / frames, accent)
            return frame

        write_frames(writer, frames, draw, report.span(0, 98))
    report.fraction(1)
