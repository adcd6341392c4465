"""The text forms of puzzles (81-character lines, 9-line grids), parsed from checked blocks.

Forms, mixed freely in one file:

- 81-character lines, ``.``, ``0``, ``_`` or ``*`` for an empty cell;
- 9 lines of 9 cells, with or without separators (``|``, ``-``, ``+``, ``=``, ``:``, spaces), as
  printed by common tools: ``5 3 . | . 7 . | . . .`` rows, ``------+-------+------`` or ``+---+``
  rule lines (rule lines are skipped);
- several puzzles one after another or separated by blank lines; ``#`` starts a comment.

Runs of clean 81-character lines, the form large sets come in, are parsed at once with numpy
over the raw bytes (cells through a byte table, rules by bit masks: no Python loop over lines).
Every other line goes through :class:`GridReader`, the general line-by-line parser, which also
writes every error message: a bad line found in a run is handed to it, so the message is the
same whichever path met the line. A puzzle's line is that of its first row of cells.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from puzzles.format_error import PuzzleFormatError
from puzzles.grid import (
    BYTE_DIGITS,
    CELL_CHARS,
    EMPTY_CHARS,
    INVALID,
    N_CELLS,
    has_repeats,
    rule_violation,
)
from puzzles.puzzle_set import FileRows, PuzzleSet
from puzzles.text_input import Block, line_bounds

SEPARATOR_CHARS = " \t|+-=:"


def read_text_forms(blocks: Iterator[Block], name: str) -> Iterator[FileRows]:
    """The puzzles of text-form blocks, one set per block that holds any."""
    reader = GridReader(name)
    for block in blocks:
        grids, lines = _parse_block(block, reader)
        if len(grids):
            yield FileRows(name, PuzzleSet.from_grids(grids, source=name), lines, is_csv=False)
    reader.finish()


class GridReader:
    """The general parser: one line at a time, carrying an unfinished grid across blocks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cells: list[str] = []  # the unfinished grid's cells
        self.start = 0  # line of its first row
        self.n_rows = 0

    def feed(self, number: int, raw: str) -> tuple[np.ndarray, int] | None:
        """Read line ``number``; the puzzle it completes and that puzzle's line, if any."""
        content = raw.split("#", 1)[0]
        if not raw.strip():
            self.finish()  # a blank line ends an unfinished grid
            return None
        if not content.strip():
            return None  # a comment line, also allowed between the rows of a grid
        row = _cells_of(content, self.name, number)
        if not row:
            return None  # a rule line such as ------+-------+------
        if not self.cells:
            self.start = number
            if len(row) == N_CELLS:
                return _checked(row, self.name, number), number
        if len(row) != 9:
            expected = "81 cells on one line or 9 per row" if not self.cells else "9 cells in a row"
            raise PuzzleFormatError(self.name, number, f"expected {expected}, found {len(row)}")
        self.cells.extend(row)
        self.n_rows += 1
        if len(self.cells) < N_CELLS:
            return None
        grid = _checked(self.cells, self.name, self.start)
        self.cells, self.n_rows = [], 0
        return grid, self.start

    def finish(self) -> None:
        """Refuse a grid left unfinished (at a blank line or at the end of the file)."""
        if self.cells:
            rows = "row" if self.n_rows == 1 else "rows"
            reason = (
                f"grid ends after {self.n_rows} {rows} ({len(self.cells)} cells), "
                "expected 9 rows of 9"
            )
            raise PuzzleFormatError(self.name, self.start, reason)


def _parse_block(block: Block, reader: GridReader) -> tuple[np.ndarray, np.ndarray]:
    """The puzzles (N, 81) of one block and their lines (N,), in file order."""
    data = np.frombuffer(block.data, np.uint8)
    starts, ends = line_bounds(data)
    numbers = block.first_line + np.arange(len(starts))
    length = ends - starts
    candidates = np.flatnonzero(length == N_CELLS)
    if len(candidates):
        digits = BYTE_DIGITS[sliding_window_view(data, N_CELLS)[starts[candidates]]]
        clean = (digits != INVALID).all(axis=1)
        fast, fast_grids = candidates[clean], digits[clean]
    else:
        fast, fast_grids = candidates, np.zeros((0, N_CELLS), np.uint8)
    bad_fast = np.flatnonzero(has_repeats(fast_grids))  # positions in ``fast``
    others = np.ones(len(starts), bool)
    others[fast] = False
    others &= length > 0  # empty lines: nothing, unless they end an unfinished grid (below)
    grids: list[np.ndarray] = []
    lines: list[np.ndarray] = []

    def line_text(i: int) -> str:
        return block.data[starts[i] : ends[i]].decode("utf-8")

    previous = 0
    for other in [*np.flatnonzero(others).tolist(), len(starts)]:
        if other > previous:  # a run of clean 81-character lines and empty lines
            if reader.cells:  # its first line meets an unfinished grid: the reader refuses it
                reader.feed(int(numbers[previous]), line_text(previous))
            lo, hi = np.searchsorted(fast, [previous, other])
            bad = bad_fast[np.searchsorted(bad_fast, lo) :][:1]
            if len(bad) and bad[0] < hi:  # the reader writes the message of the first bad one
                row = int(fast[bad[0]])
                reader.feed(int(numbers[row]), line_text(row))
            grids.append(fast_grids[lo:hi])
            lines.append(numbers[fast[lo:hi]])
        if other < len(starts):
            found = reader.feed(int(numbers[other]), line_text(other))
            if found is not None:
                grids.append(found[0][None])
                lines.append(np.array([found[1]]))
        previous = other + 1
    if not grids:
        return np.zeros((0, N_CELLS), np.uint8), np.zeros(0, np.int64)
    return np.concatenate(grids), np.concatenate(lines).astype(np.int64)


def _cells_of(content: str, name: str, number: int) -> list[str]:
    """The cell characters of one line; separators dropped, anything else is an error."""
    cells = []
    for column, ch in enumerate(content, start=1):
        if ch in CELL_CHARS:
            cells.append(ch)
        elif ch not in SEPARATOR_CHARS:
            raise PuzzleFormatError(name, number, f"unexpected character {ch!r} in column {column}")
    return cells


def _checked(cells: list[str], name: str, line: int) -> np.ndarray:
    """A grid from 81 cell characters; broken Sudoku rules are an error."""
    grid = np.array([0 if ch in EMPTY_CHARS else int(ch) for ch in cells], dtype=np.uint8)
    problem = rule_violation(grid)
    if problem:
        raise PuzzleFormatError(name, line, problem)
    return grid
