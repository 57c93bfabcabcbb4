"""The engine's operations in one place: each writes a file to `dest` and reports progress.

Every function takes a `progress(percent: int)` callback, writes into a
temporary file next to `dest` and renames it only on success, and raises
`EngineError` (a message fit for the creator) on bad input or failure.
"""

from __future__ import annotations

from studio.engine.edits import extend, insert_object, reshoot
from studio.engine.errors import EngineError
from studio.engine.ingredients import ingredients2video
from studio.engine.motion import img2video
from studio.engine.removal import remove_object
from studio.engine.text import text2video
from studio.engine.transcode import make_gif, upscale

__all__ = [
    "EngineError",
    "extend",
    "img2video",
    "ingredients2video",
    "insert_object",
    "make_gif",
    "remove_object",
    "reshoot",
    "text2video",
    "upscale",
]
