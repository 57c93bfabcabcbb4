"""The array type used across the engine.

OpenCV's stubs return `Mat | NDArray[integer | floating]` from every call, so
element types written on our side (uint8, float32) would only be casts. The
engine documents element types in names and docstrings instead.
"""

from __future__ import annotations

from typing import Any

from numpy.typing import NDArray

Array = NDArray[Any]
