"""Writing results: atomic destination files, the H.264 writer, the ffmpeg binary.

Every operation writes into a temporary file next to its destination and
renames it on success, so storage never holds a half-written video. Generated
clips are H.264 yuv420p with the moov box first (`+faststart`) so browsers can
start playing before the whole file has arrived.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import cv2

from studio.engine.arrays import Array
from studio.engine.errors import EngineError

logger = logging.getLogger(__name__)

FPS = 24
FRAME_SIZES: dict[str, tuple[int, int]] = {"16:9": (1280, 720), "9:16": (720, 1280)}
DURATIONS = (4, 6, 8)

ProgressCallback = Callable[[int], None]

# Containers a Studio video can come in, by FFmpeg demuxer name. Anything else
# is refused before FFmpeg looks inside: a "video" that is really an HLS or
# concat playlist would otherwise make it open other files or URLs.
VIDEO_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,gif"
DEMUX_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": VIDEO_DEMUXERS}


def ffmpeg_input(path: Path) -> list[str]:
    """`-i path` for the ffmpeg binary, with the same limits as our own demuxing."""
    guard = [arg for key, value in DEMUX_OPTIONS.items() for arg in (f"-{key}", value)]
    return [*guard, "-i", str(path)]


def open_video(path: Path) -> av.container.InputContainer:
    """Open a video for reading with PyAV, limited to local files and video containers."""
    return av.open(str(path), "r", options=DEMUX_OPTIONS)


def frame_size(aspect_ratio: str) -> tuple[int, int]:
    try:
        return FRAME_SIZES[aspect_ratio]
    except KeyError:
        raise EngineError("The offline engine makes 16:9 or 9:16 clips only.") from None


def frame_count(duration_seconds: int) -> int:
    if duration_seconds not in DURATIONS:
        raise EngineError("The offline engine makes clips of 4, 6 or 8 seconds.")
    return duration_seconds * FPS


def no_progress(percent: int) -> None:
    """A progress callback for callers that do not show one."""


class _Reporter:
    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.last = -1

    def report(self, percent: int) -> None:
        if percent > self.last:
            self.last = percent
            self.callback(percent)


class Progress:
    """Turns a fraction of work into whole percents, reported only when they move.

    A stage of a longer operation gets its own span (`span(40, 90)`); all spans
    share one reporter, so the job card sees a steady climb, never a step back.
    """

    def __init__(
        self,
        callback: ProgressCallback,
        start: int = 0,
        end: int = 100,
        *,
        reporter: _Reporter | None = None,
    ) -> None:
        self._reporter = reporter or _Reporter(callback)
        self._start = start
        self._end = end

    def fraction(self, done: float) -> None:
        done = min(max(done, 0.0), 1.0)
        self._reporter.report(self._start + int((self._end - self._start) * done))

    def span(self, start: int, end: int) -> Progress:
        """A sub-range given in percent of this one."""
        width = self._end - self._start
        return Progress(
            self._reporter.callback,
            self._start + width * start // 100,
            self._start + width * end // 100,
            reporter=self._reporter,
        )


@dataclass
class Output:
    """The temporary file an operation writes, and scratch files to clean up."""

    dest: Path
    path: Path
    _scratch: list[Path] = field(default_factory=list)

    def scratch(self, label: str, suffix: str) -> Path:
        path = self.dest.with_name(f".{self.dest.stem}.{secrets.token_hex(4)}.{label}{suffix}")
        self._scratch.append(path)
        return path

    def cleanup(self) -> None:
        for path in [self.path, *self._scratch]:
            path.unlink(missing_ok=True)


@contextmanager
def atomic_output(dest: Path) -> Iterator[Output]:
    """Yield a temporary path next to `dest`; rename it to `dest` only on success.

    Errors from the media libraries become an `EngineError` with a message fit
    for the creator; the library's own text (which names files) goes to the log.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{secrets.token_hex(4)}.part{dest.suffix}")
    output = Output(dest=dest, path=tmp)
    try:
        yield output
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise EngineError("The engine produced no output.")
        os.replace(tmp, dest)
    except av.FFmpegError as exc:
        logger.warning("media library error writing %s: %s", dest.name, exc)
        raise EngineError("The video could not be processed: it may be damaged.") from exc
    finally:
        output.cleanup()


@dataclass(frozen=True)
class Colour:
    """Colour tags written into the H.264 stream (FFmpeg's AVCOL_* numbers)."""

    space: int
    primaries: int
    trc: int
    range: int


# x264's fastest preset with its two cheapest quality tools put back: the
# deblocking filter (smooth gradients show blocks without it) and CABAC (about
# a third smaller files). Measured on 8 s of 720p: 1.5 s of CPU against 3.0 s
# for superfast, at the same PSNR; encoding is most of the cost of a draft.
X264_PRESET = "ultrafast"
X264_PARAMS = "deblock=0,0:cabac=1"

# cv2's RGB to I420 conversion is BT.601 limited range (white is Y=235); saying
# so in the stream stops players from guessing BT.709 for HD sizes.
RGB_CONVERSION = Colour(space=6, primaries=1, trc=1, range=1)


class H264Writer:
    """Encode frames to an MP4 with libx264, yuv420p, `+faststart`.

    Encoding runs in a second thread: PyAV releases the GIL inside the codec,
    so drawing the next frame overlaps with encoding the last one. `threads`
    is fixed rather than automatic because x264's output depends on its thread
    count, and generated clips must be byte-identical for the same prompt and
    seed on any machine.
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        *,
        fps: Fraction | int = FPS,
        crf: int = 20,
        preset: str = X264_PRESET,
        threads: int = 2,
        colour: Colour = RGB_CONVERSION,
    ) -> None:
        if width % 2 or height % 2:
            raise EngineError("Video width and height must be even.")
        self.width = width
        self.height = height
        self.frames = 0
        self._container = av.open(
            str(path), "w", format="mp4", container_options={"movflags": "+faststart"}
        )
        stream = self._container.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        context = stream.codec_context
        context.colorspace = colour.space
        context.color_primaries = colour.primaries
        context.color_trc = colour.trc
        context.color_range = colour.range
        context.options = {
            "preset": preset,
            "crf": str(crf),
            "threads": str(threads),
            "x264-params": X264_PARAMS,
        }
        self._stream = stream
        self._queue: queue.Queue[Array | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._encode_loop, daemon=True)
        self._thread.start()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(abort=exc is not None)

    def write_rgb(self, frame: Array) -> None:
        """Write an RGB (or RGBA, alpha ignored) frame of the writer's size."""
        if frame.shape[:2] != (self.height, self.width) or frame.shape[2] not in (3, 4):
            raise ValueError(f"frame shape {frame.shape} does not match the writer")
        code = cv2.COLOR_RGB2YUV_I420 if frame.shape[2] == 3 else cv2.COLOR_RGBA2YUV_I420
        self.write_i420(cv2.cvtColor(frame, code))

    def write_i420(self, planes: Array) -> None:
        """Write one frame given as I420 planes stacked in one (h * 3 / 2, w) array."""
        self._check()
        self._queue.put(planes)
        self.frames += 1

    def close(self, *, abort: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            if abort:
                self._drain()
            self._queue.put(None)
            self._thread.join()
        try:
            if not abort:
                self._check()
        finally:
            self._container.close()

    def _drain(self) -> None:
        # On abort the encoder thread may be blocked on a full queue: empty it.
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def _encode_loop(self) -> None:
        index = 0
        try:
            while (planes := self._queue.get()) is not None:
                frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
                frame.pts = index
                index += 1
                for packet in self._stream.encode(frame):
                    self._container.mux(packet)
            for packet in self._stream.encode():
                self._container.mux(packet)
        except BaseException as exc:  # handed to the producer thread
            self._error = exc
            self._drain()
            # Keep consuming so the producer never blocks on a dead consumer.
            while self._queue.get() is not None:
                pass


def write_frames(
    writer: H264Writer,
    count: int,
    draw: Callable[[int], Array],
    progress: Progress,
    *,
    workers: int = 2,
) -> None:
    """Draw frames 0..count-1 in `workers` threads and write them in order.

    Drawing is numpy/OpenCV work that releases the GIL, so two threads use
    both cores, and under contention they also get a fairer share of a busy
    machine than one. `draw` must depend on the index only: the bytes then
    stay the same whatever order the threads finish in.
    """
    pending: deque[Future[Array]] = deque()
    pool = ThreadPoolExecutor(workers, thread_name_prefix="frames")
    try:
        for index in range(count):
            pending.append(pool.submit(draw, index))
            # A few frames in flight keep both threads busy and memory bounded.
            if len(pending) >= 2 * workers:
                writer.write_rgb(pending.popleft().result())
                progress.fraction(writer.frames / count)
        while pending:
            writer.write_rgb(pending.popleft().result())
            progress.fraction(writer.frames / count)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def opencv_threads(count: int) -> Iterator[None]:
    """Limit OpenCV's own thread pool while drawing frames.

    Frames are drawn in our own threads and encoded in x264's; OpenCV
    splitting each small call across both cores as well only adds hand-off
    costs (measured: an 8 s transition took 15 s wall with one OpenCV thread,
    18 s with two).
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def run_ffmpeg(
    args: list[str], *, duration_seconds: float, progress: Progress, failure: str
) -> None:
    """Run the ffmpeg binary, reporting progress from its `-progress` output.

    `failure` is the creator-facing message if ffmpeg fails; its own error text
    goes to the log.
    """
    command = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-y",
        *args,
    ]
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr) as process,
    ):
        assert process.stdout is not None
        try:
            for line in process.stdout:
                key, _, value = line.decode("ascii", "replace").strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit() and duration_seconds > 0:
                    progress.fraction(int(value) / 1e6 / duration_seconds)
            code = process.wait()
        except BaseException:
            # Never leave ffmpeg writing on its own (a cancelled or failed job).
            process.kill()
            raise
        finally:
            process.stdout.close()
        if code != 0:
            stderr.seek(0)
            logger.warning("ffmpeg exited with %s: %s", code, stderr.read()[-2000:].decode())
            raise EngineError(failure)


def mux_audio(video_only: Path, audio_source: Path, dest: Path) -> None:
    """Put the source's first audio stream next to our video, copying it if MP4 allows."""
    for audio_codec in (["-c:a", "copy"], ["-c:a", "aac", "-b:a", "192k"]):
        args = [*ffmpeg_input(video_only), *ffmpeg_input(audio_source)]
        args += ["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *audio_codec]
        args += ["-movflags", "+faststart", "-f", "mp4", str(dest)]
        try:
            run_ffmpeg(
                args,
                duration_seconds=0,
                progress=Progress(no_progress),
                failure="The audio track could not be kept.",
            )
            return
        except EngineError:
            if audio_codec[1] != "copy":
                raise
            logger.info("audio copy refused by the MP4 muxer; re-encoding to AAC")
