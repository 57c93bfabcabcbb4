"""The local engine as a provider: offline drafts and real edits, rendered in the worker.

It sits behind the same interface and capability registry as the gateways
and is the default when no gateway key is set. It does not pretend to be Veo:
its one model is an "Offline draft". The engine (numpy, OpenCV, PyAV) is only
imported when a job renders, so the web process can list capabilities without
loading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from studio.providers.base import ModelSpec, ProgressCallback, Provider, Removal, SubmitRequest

EDITS = frozenset({"extend", "reshoot", "insert"})
MODES = (
    frozenset(
        {
            "text2video",
            "img2video",
            "ingredients2video",
            "removal",
            "upscale",
            "gif",
            "scene_export",
        }
    )
    | EDITS
)
DEFAULT_DURATION = 8
DEFAULT_SEED = 0

DRAFT = ModelSpec(
    name="draft",
    label="Offline draft",
    modes=MODES,
    aspect_ratios=("16:9", "9:16"),
    durations=(4, 6, 8),
    # An insertion may show a reference image; without one it shows the prompt.
    image_counts={"img2video": (1, 2), "ingredients2video": (1, 3), "insert": (0, 1)},
    cost=0,
    note=(
        "Runs on this server with no key and no network. Generated clips are drafts built "
        "from the prompt and images (typeset prompt, camera moves, flow transitions), not "
        "AI video; removal, upscale and GIF are real edits that work on any video; extend, "
        "reshoot and insert are drafts of theirs (a continued camera move, a virtual "
        "camera, a pasted image or typeset prompt)."
    ),
)


class LocalProvider(Provider):
    name = "local"
    label = "Local draft engine (offline)"
    remote = False
    takes_seed = True
    # On unless set to 0: the zero-config default.
    setting_names = ("STUDIO_LOCAL_ENGINE",)
    removal = Removal(
        model=DRAFT.name,
        label="Local engine (offline, free)",
        name="the local engine",
        hint="Fills the painted region in every frame, on this server.",
        disabled_reason="The local engine is turned off on this Studio.",
    )
    # Drafts of every edit, on any video (no upstream id needed).
    edit_modes = EDITS

    def is_configured(self) -> bool:
        return bool(getattr(settings, "STUDIO_LOCAL_ENGINE", True))

    def models(self) -> tuple[ModelSpec, ...]:
        return (DRAFT,)

    def render(self, request: SubmitRequest, dest: Path, progress: ProgressCallback) -> None:
        """Render `request` into `dest`; an `EngineError` is the job's failure reason."""
        from studio.engine import render as engine
        from studio.engine.errors import EngineError

        mode = request.mode
        if mode not in MODES:
            raise EngineError(f"The offline engine cannot do {mode!r}.")
        duration = request.duration_seconds or DEFAULT_DURATION
        seed = request.seed if request.seed is not None else DEFAULT_SEED
        if mode == "text2video":
            engine.text2video(request.prompt, seed, request.aspect_ratio, duration, dest, progress)
        elif mode == "img2video":
            # Start frame first, end frame second, whatever order they came in.
            order = {"start": 0, "end": 1}
            images = sorted(request.images, key=lambda image: order.get(image.role, 0))
            engine.img2video(
                [image.path for image in images],
                request.prompt,
                request.aspect_ratio,
                duration,
                dest,
                progress,
            )
        elif mode == "scene_export":
            from studio.engine.scene import Clip, export_scene

            export_scene(
                [Clip(clip.path, clip.in_seconds, clip.out_seconds) for clip in request.clips],
                dest,
                crossfade=float(request.params.get("crossfade_seconds") or 0),
                progress=progress,
            )
        elif mode == "ingredients2video":
            engine.ingredients2video(
                [image.path for image in request.images],
                request.prompt,
                request.aspect_ratio,
                duration,
                seed,
                dest,
                progress,
            )
        else:
            source = request.source_video
            if source is None:
                raise EngineError("This edit needs a source video.")
            if mode == "removal":
                if request.mask_path is None:
                    raise EngineError("Object removal needs a mask.")
                engine.remove_object(source.path, request.mask_path, dest, progress)
            elif mode == "extend":
                engine.extend(source.path, request.prompt, dest, progress)
            elif mode == "reshoot":
                engine.reshoot(
                    source.path, str(request.params.get("motion_type", "")), dest, progress
                )
            elif mode == "insert":
                engine.insert_object(
                    source.path,
                    request.prompt,
                    dest,
                    progress,
                    mask=request.mask_path,
                    image=request.images[0].path if request.images else None,
                )
            elif mode == "upscale":
                engine.upscale(source.path, str(request.params.get("target", "")), dest, progress)
            else:
                engine.make_gif(
                    source.path,
                    dest,
                    fps=_whole_number(request.params.get("fps"), 12, "GIF frame rate"),
                    width=_whole_number(request.params.get("width"), 480, "GIF width"),
                    progress=progress,
                )


def _whole_number(value: Any, default: int, what: str) -> int:
    from studio.engine.errors import EngineError

    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise EngineError(f"{what} must be a whole number.") from None
