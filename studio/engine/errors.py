"""The one exception the engine raises on purpose."""

from __future__ import annotations


class EngineError(Exception):
    """Bad input or a failed operation.

    The message is shown to the creator as it is, so it never contains a file
    path, a command line or an upstream library's own wording.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
