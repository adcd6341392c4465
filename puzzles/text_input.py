"""Puzzle files read with bounds: blocks of whole lines, binary content and endless lines refused.

Every reader of puzzle files (the text forms and the CSV, from a file or from stdin ``-``) takes
its bytes from :func:`read_blocks`, so that none reads without limit: input is read
``BLOCK_BYTES`` at a time and cut after its last newline, and each block is checked before
anyone parses it. A NUL byte (binary data), bytes that are not UTF-8, or a line longer than
``MAX_LINE_BYTES`` (a puzzle line is under 200 bytes) is a :class:`PuzzleFormatError` naming
the file and line, raised as soon as it is seen: ``/dev/zero`` is refused after one block.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np

from puzzles.format_error import PuzzleFormatError

BLOCK_BYTES = 1 << 22  # read size; read at call time, so tests may shrink it
MAX_LINE_BYTES = 1 << 16
STDIN_NAME = "<stdin>"
_BOM = b"\xef\xbb\xbf"
_NOT_A_PUZZLE_FILE = "not a puzzle file"


@dataclass(frozen=True)
class Block:
    """Whole lines of a file, each ending in a newline (the file's last one may lack it)."""

    data: bytes  # checked: UTF-8, no NUL byte, no line longer than MAX_LINE_BYTES
    first_line: int  # 1-based number of its first line in the file


def display_name(path: str | Path) -> str:
    """How messages name a puzzle file argument: ``<stdin>`` for ``-``."""
    return STDIN_NAME if str(path) == "-" else str(path)


def read_blocks(path: str | Path) -> Iterator[Block]:
    """The checked blocks of a file, or of stdin for ``-``; a missing file is an error."""
    name = display_name(path)
    if str(path) == "-":
        yield from blocks_of(_stdin_bytes(), name)
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with below; open errors first)
    except FileNotFoundError:
        raise PuzzleFormatError(name, 0, "no such file") from None
    except IsADirectoryError:
        raise PuzzleFormatError(name, 0, "is a directory, expected a puzzle file") from None
    except OSError as error:  # no permission, and the like
        raise PuzzleFormatError(name, 0, f"cannot open: {error.strerror}") from None
    with handle:
        yield from blocks_of(handle, name)


def blocks_of(handle: BinaryIO | _EncodedText, name: str) -> Iterator[Block]:
    """Cut a byte stream into checked blocks of whole lines, ``BLOCK_BYTES`` read at a time."""
    line, tail, first = 1, b"", True
    while True:
        piece = handle.read(BLOCK_BYTES)
        if first:
            piece, first = piece.removeprefix(_BOM), False
        data = tail + piece if tail else piece
        if not piece:  # end of input: what is left is the last line, without a newline
            if data:
                _check(data, name, line, partial=False)
                yield Block(data, line)
            return
        cut = data.rfind(b"\n") + 1
        whole, tail = data[:cut], data[cut:]
        if whole:
            _check(whole, name, line, partial=False)
            yield Block(whole, line)
            line += whole.count(b"\n")
        _check(tail, name, line, partial=True)  # an unfinished line must not grow without end


def blocks_of_text(text: str, name: str) -> Iterator[Block]:
    """The checked blocks of text already in memory (typed, or passed by a caller)."""
    return blocks_of(io.BytesIO(text.encode("utf-8")), name)


def first_content_line(blocks: Iterator[Block]) -> tuple[str, int, Iterator[Block]] | None:
    """The first line that is neither blank nor a ``#`` comment: its text (comment and outer
    spaces removed), its number, and the blocks from that line on; None when there is none."""
    for block in blocks:
        data, start, line = block.data, 0, block.first_line
        while start < len(data):
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            text = data[start:end].decode("utf-8").split("#", 1)[0].strip()
            if text:
                return text, line, chain([Block(data[start:], line)], blocks)
            start, line = end + 1, line + 1
    return None


def without_first_line(blocks: Iterator[Block]) -> Iterator[Block]:
    """The blocks with their first line (a CSV header) left out."""
    for index, block in enumerate(blocks):
        if index == 0:
            cut = block.data.find(b"\n") + 1
            if cut == 0 or cut == len(block.data):
                continue
            block = Block(block.data[cut:], block.first_line + 1)
        yield block


def at_most(blocks: Iterator[Block], max_lines: int) -> Iterator[Block]:
    """The blocks cut further so that none holds more than ``max_lines`` lines."""
    for block in blocks:
        data = block.data
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == ord("\n")) + 1
        cuts = [0, *ends[max_lines - 1 :: max_lines].tolist(), len(data)]
        line = block.first_line
        for lo, hi in pairwise(cuts):
            if hi > lo:
                yield Block(data[lo:hi], line)
                line += max_lines


def line_bounds(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, before ``\\r\\n`` or ``\\n``) of every line of a block's bytes."""
    newlines = np.flatnonzero(data == ord("\n"))
    if not len(data) or data[-1] != ord("\n"):
        newlines = np.append(newlines, len(data))  # a last line without its newline
    starts = np.concatenate([[0], newlines[:-1] + 1])
    before = data[np.maximum(newlines - 1, 0)] if len(data) else newlines
    ends = newlines - ((before == ord("\r")) & (newlines > starts))
    return starts, ends


def _check(data: bytes, name: str, first_line: int, partial: bool) -> None:
    """Refuse binary data, bytes that are not UTF-8 and overlong lines; the earliest one first."""
    problems: list[tuple[int, str]] = []  # (byte offset, reason)
    nul = data.find(b"\0")
    if nul >= 0:
        problems.append((nul, "binary data (a NUL byte in column {column}); " + _NOT_A_PUZZLE_FILE))
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            # a line still being read may end inside a character; the next block completes it
            if not (partial and error.reason == "unexpected end of data"):
                byte = data[error.start]
                problems.append(
                    (error.start, f"not UTF-8 text (byte 0x{byte:02x} in column {{column}})")
                )
    if len(data) > MAX_LINE_BYTES:
        starts, ends = line_bounds(np.frombuffer(data, np.uint8))
        long = np.flatnonzero(ends - starts > MAX_LINE_BYTES)
        if len(long):
            offset = int(starts[long[0]]) + MAX_LINE_BYTES
            problems.append(
                (offset, f"line longer than {MAX_LINE_BYTES} bytes; " + _NOT_A_PUZZLE_FILE)
            )
    if problems:
        offset, reason = min(problems)
        line_start = data.rfind(b"\n", 0, offset) + 1
        line = first_line + data.count(b"\n", 0, offset)
        raise PuzzleFormatError(name, line, reason.format(column=offset - line_start + 1))


class _EncodedText:
    """A text stream read as UTF-8 bytes: ``read(n)`` reads ``n`` characters."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def read(self, n: int) -> bytes:
        return self.stream.read(n).encode("utf-8")


def _stdin_bytes() -> BinaryIO | _EncodedText:
    """Standard input as bytes (its buffer, or the text stream when stdin was replaced by one)."""
    buffer = getattr(sys.stdin, "buffer", None)
    return buffer if buffer is not None else _EncodedText(sys.stdin)
