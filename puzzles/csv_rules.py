"""The Sudoku-Extreme CSV's header, and what is wrong with one row: the reader's messages.

:mod:`puzzles.csv_format` checks whole chunks at once with numpy and only finds *which* row is
bad; :func:`row_problem` then says *why*, one row in plain Python, so that every CSV error reads
the same. The rules: fields split at commas, no quotes (Sudoku-Extreme has none); a question of
81 cells (``1-9``, ``.``, ``0``, ``_`` or ``*``) breaking no Sudoku rule; an answer that is
empty or a completed grid keeping the question's givens; a rating that is empty or a
non-negative integer; other columns are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles.format_error import PuzzleFormatError
from puzzles.grid import (
    BYTE_DIGITS,
    CELL_CHARS,
    N_CELLS,
    agrees_with_givens,
    is_complete_solution,
    rule_violation,
)

HEADER = "source,question,answer,rating"
QUOTED = "quoted CSV fields are not supported; write the file without quotes"
MAX_RATING_DIGITS = 18  # ratings are int64


@dataclass(frozen=True)
class Header:
    """The columns a CSV's header names."""

    columns: dict[str, int]  # lower-case column name -> field index
    n_fields: int


def is_header(text: str) -> bool:
    """Whether a file's first content line starts a CSV: it has a comma (no text form of a
    puzzle has one) or is the lone column ``question``."""
    return "," in text or text.strip().lower() == "question"


def parse_header(text: str, name: str, line: int) -> Header:
    """The header line (comment removed); it must name a ``question`` column."""
    if '"' in text:
        raise PuzzleFormatError(name, line, QUOTED)
    names = [h.strip().lower() for h in text.split(",")]
    if "question" not in names:
        shown = text if len(text) <= 60 else text[:40] + "..."
        raise PuzzleFormatError(name, line, f"unexpected header {shown!r}; expected {HEADER}")
    twice = next((h for i, h in enumerate(names) if h and h in names[:i]), None)
    if twice is not None:
        raise PuzzleFormatError(name, line, f"column {twice!r} appears twice in the header")
    return Header(columns={h: i for i, h in enumerate(names)}, n_fields=len(names))


def row_problem(text: str, header: Header) -> str | None:
    """Why one row (without its line ending) is refused, or None when it is fine."""
    if '"' in text:
        return QUOTED
    fields = text.split(",")
    if len(fields) != header.n_fields:
        return f"expected {header.n_fields} fields like the header, found {len(fields)}"

    def field(column: str) -> str:
        return fields[header.columns[column]] if column in header.columns else ""

    question = field("question")
    if len(question) != N_CELLS:
        return f"question has {len(question)} cells, expected 81"
    bad = next((ch for ch in question if ch not in CELL_CHARS), None)
    if bad is not None:
        return f"unexpected character {bad!r} in question"
    grid = BYTE_DIGITS[np.frombuffer(question.encode("ascii"), np.uint8)]
    problem = rule_violation(grid)
    if problem:
        return problem
    answer = field("answer")
    if answer:
        if len(answer) != N_CELLS or not set(answer) <= set("123456789"):
            return "answer must be 81 digits 1-9 (or empty)"
        solution = np.frombuffer(answer.encode("ascii"), np.uint8) - ord("0")
        if not is_complete_solution(solution):
            return "answer is not a valid completed grid"
        if not agrees_with_givens(grid, solution):
            return "answer disagrees with the puzzle's givens"
    rating = field("rating")
    if rating and not (rating.isascii() and rating.isdigit()):
        return f"rating {rating!r} is not a non-negative integer"
    if len(rating) > MAX_RATING_DIGITS:
        return f"rating {rating!r} is too large"
    return None
