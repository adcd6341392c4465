"""The one error every puzzle-file reader raises: :class:`PuzzleFormatError`,
``FILE:LINE: reason``."""

from __future__ import annotations


class PuzzleFormatError(ValueError):
    """A puzzle file is malformed; ``str()`` is ``FILE:LINE: reason`` (``FILE: reason`` if line
    0)."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}" if line > 0 else f"{source}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason
