"""The Sudoku-Extreme CSV on disk: streaming vectorised reader and atomic streaming writer.

Format (sapientinc/sudoku-extreme, used by the TRM reference builder): a header
``source,question,answer,rating`` then one puzzle per line, ``.`` for an empty cell, the answer as
81 digits, the rating as the number of guesses the tdoku solver needs. Here answer and rating may
be empty (unknown), extra columns are ignored, and blank lines and ``#`` comment lines are
skipped. This is the one CSV reader: :func:`puzzles.parse.read_puzzles` and every command use it.
Input comes in checked blocks (:mod:`puzzles.text_input`) parsed with numpy on the raw bytes
(field bounds from comma positions, cells through a byte table; no Python loop over rows), so
the 3.8M-row training file never needs more than one block in memory. The checks only find
*which* row is bad; :func:`puzzles.csv_rules.row_problem` then says why. Quoted fields are refused:
Sudoku-Extreme has none, and :class:`CsvWriter` refuses sources that would need them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from puzzles.csv_rules import HEADER, MAX_RATING_DIGITS, Header, parse_header, row_problem
from puzzles.format_error import PuzzleFormatError
from puzzles.grid import (
    BYTE_DIGITS,
    INVALID,
    N_CELLS,
    agrees_with_givens,
    has_repeats,
    is_complete_solution,
)
from puzzles.puzzle_set import FileRows, PuzzleSet, concat
from puzzles.text_input import (
    Block,
    at_most,
    display_name,
    first_content_line,
    line_bounds,
    read_blocks,
    without_first_line,
)

__all__ = ["HEADER", "CsvWriter", "check_target", "iter_csv", "read_csv", "write_csv"]

CHUNK_ROWS = 65536
_WIDE_SOURCE = 256  # bytes; a longer source field is read without the (N, width) table
_ANSWER_DIGITS = BYTE_DIGITS.copy()
_ANSWER_DIGITS[np.frombuffer(b".0_*", dtype=np.uint8)] = INVALID
_DIGIT_CHARS = np.frombuffer(b".123456789", dtype=np.uint8)  # digit -> byte when writing


def iter_csv(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[PuzzleSet]:
    """Stream a Sudoku-Extreme CSV as sets of at most ``chunk_rows`` rows, checking every row."""
    name = display_name(path)
    found = first_content_line(read_blocks(path))
    if found is None:
        raise PuzzleFormatError(name, 0, "no puzzles found")
    n_rows = 0
    for rows in csv_rows(*found, name, chunk_rows):
        n_rows += len(rows)
        yield rows.puzzles
    if not n_rows:
        raise PuzzleFormatError(name, 0, "no puzzles found")


def read_csv(path: str | Path) -> PuzzleSet:
    """Read a whole Sudoku-Extreme CSV."""
    return concat(list(iter_csv(path)))


def csv_rows(
    header: str, header_line: int, blocks: Iterator[Block], name: str, chunk_rows: int = CHUNK_ROWS
) -> Iterator[FileRows]:
    """The rows after a header line (``blocks`` start at it), in chunks of at most
    ``chunk_rows``."""
    columns = parse_header(header, name, header_line)
    for block in at_most(without_first_line(blocks), chunk_rows):
        rows = _parse_rows(block, columns, name)
        if len(rows):
            yield rows


def _parse_rows(block: Block, header: Header, name: str) -> FileRows:
    """Parse whole lines of CSV at once: field bounds from comma positions, cells by table."""
    data = np.frombuffer(block.data + bytes(N_CELLS), np.uint8)  # padded: gathers stay inside
    starts, ends = line_bounds(data[: len(block.data)])
    numbers = block.first_line + np.arange(len(starts))
    keep = (ends > starts) & (data[starts] != ord("#"))  # blank and comment lines are skipped
    raw = data[: len(block.data)]
    comma_at = np.flatnonzero(raw == ord(","))
    comma_line = np.searchsorted(starts, comma_at, side="right") - 1
    per_line = np.bincount(comma_line, minlength=len(starts))
    quoted = np.zeros(len(starts), bool)
    quoted[np.searchsorted(starts, np.flatnonzero(raw == ord('"')), side="right") - 1] = True
    for row in np.flatnonzero(keep & (per_line == 0) & (ends - starts < N_CELLS)):
        keep[row] = bool(block.data[starts[row] : ends[row]].strip())  # only spaces: blank
    n_fields = header.n_fields
    bad_shape = np.flatnonzero(keep & (quoted | (per_line != n_fields - 1)))
    limit = int(bad_shape[0]) if len(bad_shape) else len(starts)  # rows before it are well cut
    keep[limit:] = False
    rows = np.flatnonzero(keep)
    starts, ends, numbers = starts[rows], ends[rows], numbers[rows]
    commas = comma_at[keep[comma_line]].reshape(len(rows), n_fields - 1)
    bounds = [
        (starts if j == 0 else commas[:, j - 1] + 1, ends if j == n_fields - 1 else commas[:, j])
        for j in range(n_fields)
    ]

    def field(column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in header.columns:
            return starts, starts  # absent column: every value empty
        return bounds[header.columns[column]]

    windows = sliding_window_view(data, N_CELLS)
    q_start, q_end = field("question")
    questions = BYTE_DIGITS[windows[q_start]]
    ok = (q_end - q_start == N_CELLS) & (questions != INVALID).all(axis=1)
    questions[~ok] = 0
    answers, answers_ok = _answers(windows, *field("answer"))
    ratings, ratings_ok = _ratings(data, *field("rating"))
    known = answers.all(axis=1)
    ok &= answers_ok & ratings_ok
    # a question agreeing with a completed grid repeats no digit: test the others only
    ok[known] &= is_complete_solution(answers[known]) & agrees_with_givens(
        questions[known], answers[known]
    )
    ok[~known] &= ~has_repeats(questions[~known])
    bad = np.flatnonzero(~ok)
    first_bad = int(numbers[bad[0]]) if len(bad) else None
    if first_bad is None and limit < len(keep):
        first_bad = block.first_line + limit
    if first_bad is not None:
        _refuse(block, first_bad, header, name)
    puzzles = PuzzleSet(questions, answers, ratings, _sources(data, *field("source")))
    return FileRows(name, puzzles, numbers.astype(np.int64), is_csv=True)


def _refuse(block: Block, line: int, header: Header, name: str) -> NoReturn:
    """Raise the error of the bad row at ``line``, in the words of :func:`row_problem`."""
    text = block.data.split(b"\n")[line - block.first_line].removesuffix(b"\r").decode("utf-8")
    reason = row_problem(text, header)
    if reason is None:  # the vectorised checks and row_problem disagree: a bug, never input
        raise RuntimeError(f"{name}:{line}: row refused by the CSV reader but no problem found")
    raise PuzzleFormatError(name, line, reason)


def _answers(
    windows: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 81) answers (zeros where empty), and (N,) whether each field is well formed."""
    length = end - start
    answers = _ANSWER_DIGITS[windows[start]]
    given = length == N_CELLS
    ok = (length == 0) | (given & (answers != INVALID).all(axis=1))
    answers[~(given & ok)] = 0
    return answers, ok


def _ratings(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) ratings (-1 where empty), and (N,) whether each field is a non-negative integer."""
    length = end - start
    ok = length <= MAX_RATING_DIGITS
    length = np.minimum(length, MAX_RATING_DIGITS)  # longer ones are refused; int64 holds these
    position = np.arange(int(length.max(initial=0)))
    inside = position < length[:, None]
    digits = data[np.minimum(start[:, None] + position, len(data) - 1)].astype(np.int64) - ord("0")
    ok &= ~(inside & ((digits < 0) | (digits > 9))).any(axis=1)
    powers = 10 ** np.maximum(length[:, None] - 1 - position, 0)
    values = (np.where(inside, digits, 0) * powers).sum(axis=1)
    return np.where((length > 0) & ok, values, -1).astype(np.int64), ok


def _sources(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Source fields as an object array sharing one ``str`` per distinct name."""
    length = end - start
    width = max(int(length.max(initial=0)), 1)
    if width > _WIDE_SOURCE:  # a table (N, width) could take gigabytes: one row at a time
        shared: dict[bytes, str] = {}
        names = [data[a:b].tobytes() for a, b in zip(start.tolist(), end.tolist(), strict=True)]
        return np.array([shared.setdefault(n, n.decode("utf-8")) for n in names], dtype=object)
    position = np.arange(width)
    inside = position < length[:, None]
    raw = np.where(inside, data[np.minimum(start[:, None] + position, len(data) - 1)], 0)
    fixed = np.ascontiguousarray(raw.astype(np.uint8)).view(f"S{width}").ravel()
    names, codes = np.unique(fixed, return_inverse=True)
    decoded = np.array([n.decode("utf-8") for n in names], dtype=object)
    return decoded[codes.ravel()]


def check_target(path: str | Path, overwrite: bool = False) -> None:
    """Refuse a CSV destination before any work: a folder, a missing folder, or (unless told)
    an existing file; raises ``IsADirectoryError``, ``FileNotFoundError`` or ``FileExistsError``."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists (refusing to overwrite)")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such folder")


class CsvWriter:
    """Streaming Sudoku-Extreme CSV writer: rows go to a temporary file renamed on success."""

    def __init__(self, path: str | Path, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        check_target(self.path, overwrite)
        self._temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._handle = open(self._temp, "wb")  # noqa: SIM115 (closed in close/abort)
        self._handle.write(HEADER.encode() + b"\n")
        self.n_rows = 0

    def write(self, puzzles: PuzzleSet) -> None:
        """Append rows; unknown answers and ratings are written as empty fields."""
        encoded: dict[str, bytes] = {}
        for name in puzzles.sources.tolist():
            if name not in encoded:
                if any(ch in str(name) for ch in ',"\r\n'):
                    raise ValueError(f"source {name!r} may not hold commas, quotes or newlines")
                encoded[name] = str(name).encode()
        questions = np.ascontiguousarray(_DIGIT_CHARS[puzzles.questions]).view("S81").ravel()
        answers = np.ascontiguousarray(_DIGIT_CHARS[puzzles.answers]).view("S81").ravel()
        answers[~puzzles.has_answer] = b""
        ratings = [b"" if r < 0 else b"%d" % r for r in puzzles.ratings.tolist()]
        self._handle.write(
            b"".join(
                b"%s,%s,%s,%s\n" % (encoded[s], q, a, r)
                for s, q, a, r in zip(
                    puzzles.sources.tolist(),
                    questions.tolist(),
                    answers.tolist(),
                    ratings,
                    strict=True,
                )
            )
        )
        self.n_rows += len(puzzles)

    def close(self) -> None:
        """Finish the file: flush it to disk and move it into place."""
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())  # the rename must never expose a file in cache only
            self._handle.close()
            if self.path.exists() and not self.overwrite:
                raise FileExistsError(
                    f"{self.path}: appeared while writing (refusing to overwrite)"
                )
            if self.path.is_dir():
                raise IsADirectoryError(f"{self.path}: is a directory")
            os.replace(self._temp, self.path)
        finally:
            self._temp.unlink(missing_ok=True)  # gone after the rename; dropped if anything failed

    def abort(self) -> None:
        """Drop the partial file; the destination is left untouched."""
        self._handle.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write_csv(path: str | Path, puzzles: PuzzleSet, overwrite: bool = False) -> None:
    """Write a set as a Sudoku-Extreme CSV, atomically; refuses an existing file unless told."""
    with CsvWriter(path, overwrite=overwrite) as writer:
        writer.write(puzzles)
