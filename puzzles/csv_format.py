"""The Sudoku-Extreme CSV on disk: streaming vectorised reader and atomic streaming writer.

Format (sapientinc/sudoku-extreme, used by the TRM reference builder): a header
``source,question,answer,rating`` then one puzzle per line, ``.`` for an empty cell, the answer as
81 digits, the rating as the number of guesses the tdoku solver needs. Here answer and rating may
be empty (unknown) and extra columns are ignored. Reading streams chunks parsed with numpy on the
raw bytes (field bounds from comma positions, cells through a byte table; no Python loop over
rows), so the 3.8M-row training file never needs more than one chunk in memory. Quoted fields are
not supported: Sudoku-Extreme has none, and :class:`CsvWriter` refuses sources that would need them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np

from puzzles.grid import HOUSES, N_CELLS, agrees_with_givens, conflicts
from puzzles.parse import PuzzleFormatError
from puzzles.puzzle_set import PuzzleSet, concat

HEADER = "source,question,answer,rating"
_INVALID = 255
_QUESTION_LUT = np.full(256, _INVALID, dtype=np.uint8)  # byte -> digit, 0 empty, 255 invalid
_QUESTION_LUT[np.frombuffer(b"123456789", dtype=np.uint8)] = np.arange(1, 10)
_QUESTION_LUT[np.frombuffer(b".0_*", dtype=np.uint8)] = 0
_ANSWER_LUT = _QUESTION_LUT.copy()
_ANSWER_LUT[np.frombuffer(b".0_*", dtype=np.uint8)] = _INVALID
_DIGIT_CHARS = np.frombuffer(b".123456789", dtype=np.uint8)  # digit -> byte when writing
_Fail = Callable[[np.ndarray, str], None]  # raise for the first row of a mask, with a reason


def iter_csv(path: str | Path, chunk_rows: int = 65536) -> Iterator[PuzzleSet]:
    """Stream a Sudoku-Extreme CSV as sets of at most ``chunk_rows`` rows, checking every row."""
    name = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed by the with below; open errors reported first)
    except FileNotFoundError:
        raise PuzzleFormatError(name, 0, "no such file") from None
    except IsADirectoryError:
        raise PuzzleFormatError(name, 0, "is a directory, expected a CSV file") from None
    with handle:
        header, first_line = _skip_comments(handle)
        header_info = _header_columns(header, name, first_line - 1)
        while lines := list(islice(handle, chunk_rows)):
            chunk = _parse_chunk(b"".join(lines), header_info, name, first_line)
            first_line += len(lines)
            if len(chunk):
                yield chunk


def read_csv(path: str | Path) -> PuzzleSet:
    """Read a whole Sudoku-Extreme CSV."""
    return concat(list(iter_csv(path)))


@dataclass(frozen=True)
class _Header:
    columns: dict[str, int]  # lower-case column name -> field index
    n_fields: int


def _header_columns(header: bytes, name: str, line: int) -> _Header:
    text = header.decode("utf-8-sig", errors="replace").strip()
    names = [h.strip().lower() for h in text.split(",")]
    if "question" not in names:
        reason = f"expected a CSV header like {HEADER!r}, found {text[:60]!r}"
        raise PuzzleFormatError(name, line, reason)
    return _Header(columns={h: i for i, h in enumerate(names)}, n_fields=len(names))


def _parse_chunk(buf: bytes, header: _Header, name: str, first_line: int) -> PuzzleSet:
    """Parse whole lines of CSV bytes at once: field bounds from comma positions, cells by table."""
    if not buf.endswith(b"\n"):
        buf += b"\n"
    data = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate([[0], newlines[:-1] + 1])
    ends = newlines - (data[np.maximum(newlines - 1, 0)] == ord("\r")) * (newlines > starts)
    numbers = first_line + np.arange(len(newlines))

    def fail(row_mask: np.ndarray, reason: str) -> None:
        if row_mask.any():
            raise PuzzleFormatError(name, int(numbers[row_mask.argmax()]), reason)

    quotes = np.flatnonzero(data == ord('"'))
    fail(
        np.isin(np.arange(len(newlines)), np.searchsorted(newlines, quotes)),
        "quoted CSV fields are not supported",
    )
    keep = ends > starts  # blank lines are skipped
    commas = np.flatnonzero(data == ord(","))
    per_line = np.bincount(np.searchsorted(newlines, commas), minlength=len(newlines))
    n_fields = header.n_fields
    bad_count = keep & (per_line != n_fields - 1)
    fail(
        bad_count,
        f"expected {n_fields} fields like the header, found {per_line[bad_count.argmax()] + 1}",
    )
    starts, ends, numbers = starts[keep], ends[keep], numbers[keep]
    commas = commas.reshape(len(starts), n_fields - 1)
    bounds = [
        (starts if j == 0 else commas[:, j - 1] + 1, ends if j == n_fields - 1 else commas[:, j])
        for j in range(n_fields)
    ]

    def field(column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in header.columns:
            return starts, starts  # absent column: every value empty
        return bounds[header.columns[column]]

    q_start, q_end = field("question")
    fail(q_end - q_start != N_CELLS, "question must have 81 cells")
    questions = _QUESTION_LUT[data[q_start[:, None] + np.arange(N_CELLS)]]
    fail(
        (questions == _INVALID).any(axis=1), "unexpected character in question (use 1-9 and . or 0)"
    )
    answers = _parse_answers(data, *field("answer"), fail)
    ratings = _parse_ratings(data, *field("rating"), fail)
    sources = _parse_sources(data, *field("source"))
    known = answers.all(axis=1)
    fail(known & ~_complete(answers), "answer is not a valid completed grid")
    fail(
        known & ~agrees_with_givens(questions, answers),
        "answer disagrees with the question's givens",
    )
    unknown = np.flatnonzero(~known)
    for lo in range(0, len(unknown), 4096):  # bounded memory: conflicts() works on (B, 27, 9, 9)
        rows = unknown[lo : lo + 4096]
        broken = np.zeros(len(questions), bool)
        broken[rows] = conflicts(questions[rows]).any(axis=1)
        fail(broken, "a digit repeats in a row, column or box")
    return PuzzleSet(questions, answers, ratings, sources)


def _complete(grids: np.ndarray) -> np.ndarray:
    """(N,) bool: full grids whose every house holds 1..9 (a bit-mask OR, several times faster than sorting)."""
    bits = np.left_shift(np.uint16(1), grids.astype(np.uint16))
    return (np.bitwise_or.reduce(bits[:, HOUSES], axis=2) == 0b1111111110).all(axis=1)


def _parse_answers(data: np.ndarray, start: np.ndarray, end: np.ndarray, fail: _Fail) -> np.ndarray:
    length = end - start
    fail((length != 0) & (length != N_CELLS), "answer must have 81 digits (or be empty)")
    answers = np.zeros((len(start), N_CELLS), np.uint8)
    given = np.flatnonzero(length == N_CELLS)
    answers[given] = _ANSWER_LUT[data[start[given, None] + np.arange(N_CELLS)]]
    fail((answers == _INVALID).any(axis=1), "answer must be 81 digits 1-9 (or empty)")
    return answers


def _parse_ratings(data: np.ndarray, start: np.ndarray, end: np.ndarray, fail: _Fail) -> np.ndarray:
    length = end - start
    fail(length > 18, "rating is too long")
    width = int(length.max(initial=0))
    position = np.arange(width)
    inside = position < length[:, None]
    digits = data[np.minimum(start[:, None] + position, len(data) - 1)].astype(np.int64) - ord("0")
    fail(
        (inside & ((digits < 0) | (digits > 9))).any(axis=1),
        "rating must be a non-negative integer (or empty)",
    )
    powers = 10 ** np.maximum(length[:, None] - 1 - position, 0)
    values = (np.where(inside, digits, 0) * np.where(inside, powers, 0)).sum(axis=1)
    return np.where(length > 0, values, -1).astype(np.int64)


def _parse_sources(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Source fields as an object array sharing one ``str`` per distinct name."""
    length = end - start
    width = max(int(length.max(initial=0)), 1)
    position = np.arange(width)
    inside = position < length[:, None]
    raw = np.where(inside, data[np.minimum(start[:, None] + position, len(data) - 1)], 0)
    fixed = np.ascontiguousarray(raw.astype(np.uint8)).view(f"S{width}").ravel()
    names, codes = np.unique(fixed, return_inverse=True)
    decoded = np.array([n.decode("utf-8", errors="replace") for n in names], dtype=object)
    return decoded[codes.ravel()]


class CsvWriter:
    """Streaming Sudoku-Extreme CSV writer: rows go to a temporary file renamed on success."""

    def __init__(self, path: str | Path, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path}: already exists (refusing to overwrite)")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path.parent}: no such folder")
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
        self._handle.flush()
        os.fsync(self._handle.fileno())  # the rename must never expose a file still in cache only
        self._handle.close()
        if self.path.exists() and not self.overwrite:
            self.abort()
            raise FileExistsError(f"{self.path}: appeared while writing (refusing to overwrite)")
        os.replace(self._temp, self.path)

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


def is_csv(path: str | Path) -> bool:
    """True when a file starts (after ``#`` comment lines) with a header naming ``question``."""
    with open(path, "rb") as handle:
        header, _ = _skip_comments(handle)
    return "question" in header.decode("utf-8-sig", errors="replace").strip().lower().split(",")


def _skip_comments(handle: BinaryIO) -> tuple[bytes, int]:
    """The first line that is not a ``#`` comment (the header), and the number of the next line."""
    number = 1
    line = handle.readline()
    while line.lstrip(b"\xef\xbb\xbf").startswith(b"#"):
        line = handle.readline()
        number += 1
    return line, number + 1
