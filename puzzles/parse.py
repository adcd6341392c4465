"""Reading puzzle files in every accepted form: the one entry point of every command.

Accepted forms: the text forms of :mod:`puzzles.text_forms` (81-character lines, 9-line grids
with or without separators, ``#`` comments), mixed freely in one file, and the Sudoku-Extreme
CSV of :mod:`puzzles.csv_format` (header ``source,question,answer,rating``), recognised by a
comma in the first line that is not blank or a comment (no text form has one), or by a header
naming the lone column ``question``. Input is read in
checked blocks (:mod:`puzzles.text_input`): binary data, bytes that are not UTF-8 and endless
lines are refused before they are read whole.

Every puzzle is checked: 81 cells, only known characters, no digit repeated in a row, column or
box, an answer (if given) that is a full valid grid agreeing with the givens, and (optionally,
since it costs a solver call) that the puzzle has a solution. A bad puzzle raises
:class:`PuzzleFormatError` whose text is ``FILE:LINE: reason``, LINE being the line of the
puzzle's first row of cells (a frame's top rule line is not counted). A file without any
puzzle is ``FILE: no puzzles found``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from puzzles.csv_format import csv_rows
from puzzles.csv_rules import is_header
from puzzles.format_error import PuzzleFormatError
from puzzles.grid import rule_violation
from puzzles.puzzle_set import FileRows, PuzzleSet, concat_rows
from puzzles.text_forms import read_text_forms
from puzzles.text_input import (
    STDIN_NAME,
    Block,
    blocks_of_text,
    display_name,
    first_content_line,
    read_blocks,
)

__all__ = [
    "STDIN_NAME",
    "ParsedPuzzle",
    "PuzzleFormatError",
    "check_has_solution",
    "iter_rows",
    "parse_text",
    "read_puzzles",
    "read_rows",
    "rule_violation",
]


@dataclass(frozen=True)
class ParsedPuzzle:
    """One puzzle read from a file, with where it came from."""

    grid: np.ndarray  # (81,) uint8, 0 = empty
    line: int  # 1-based line of the puzzle's first row of cells (its CSV row)
    source: str  # file name as given (or "<stdin>")
    answer: np.ndarray | None = None  # (81,) uint8 solution, when the file gives one
    rating: int | None = None  # Sudoku-Extreme rating (solver guesses), when the file gives one


def iter_rows(path: str | Path, text: str | None = None) -> Iterator[FileRows]:
    """Stream the puzzles of a file (``-`` = stdin, or ``text`` if given) in checked chunks;
    a file without any puzzle is an error once it is read to its end."""
    name = display_name(path)
    n_rows = 0
    for rows in _chunks(_blocks(path, text, name), name):
        n_rows += len(rows)
        yield rows
    if not n_rows:
        raise PuzzleFormatError(name, 0, "no puzzles found")


def read_rows(path: str | Path, text: str | None = None) -> FileRows:
    """Read every puzzle of a file as arrays, with each puzzle's line (see :func:`iter_rows`)."""
    return concat_rows(list(iter_rows(path, text)))


def read_puzzles(
    path: str | Path, text: str | None = None, check_solvable: bool = False
) -> list[ParsedPuzzle]:
    """Read every puzzle of a file (``-`` = stdin, or ``text`` if given), checking each one."""
    puzzles = _parsed(read_rows(path, text))
    if check_solvable:
        check_has_solution(puzzles)
    return puzzles


def parse_text(text: str, name: str = "<text>") -> list[ParsedPuzzle]:
    """Parse puzzle text in any accepted form; ``name`` is used in error messages. Text without
    a puzzle (typed in the dashboard, say) is simply an empty list."""
    return [p for rows in _chunks(blocks_of_text(text, name), name) for p in _parsed(rows)]


def check_has_solution(puzzles: list[ParsedPuzzle]) -> None:
    """Raise :class:`PuzzleFormatError` for the first puzzle the solver finds no solution for."""
    if not puzzles:
        return
    from puzzles.solver import solve_batch  # lazy: the solver compiles on first use

    result = solve_batch(np.stack([p.grid for p in puzzles]), limit=1)
    for puzzle, n_solutions in zip(puzzles, result.n_solutions, strict=True):
        if n_solutions == 0:
            raise PuzzleFormatError(puzzle.source, puzzle.line, "puzzle has no solution")


def _blocks(path: str | Path, text: str | None, name: str) -> Iterator[Block]:
    return read_blocks(path) if text is None else blocks_of_text(text, name)


def _chunks(blocks: Iterator[Block], name: str) -> Iterator[FileRows]:
    """The puzzles of checked blocks: a CSV when the first content line is a CSV header."""
    found = first_content_line(blocks)
    if found is None:
        return
    first, line, rest = found
    if is_header(first):
        yield from csv_rows(first, line, rest, name)
    else:
        yield from read_text_forms(rest, name)


def _parsed(rows: FileRows) -> list[ParsedPuzzle]:
    """One :class:`ParsedPuzzle` per row (answers and ratings only where the file gives them)."""
    puzzles: PuzzleSet = rows.puzzles
    name, lines = rows.name, rows.lines.tolist()
    grids, answers = puzzles.questions.view(), puzzles.answers.view()
    for shared in (grids, answers):
        shared.flags.writeable = False  # rows of one array: no puzzle may change its neighbours
    # positional arguments: building millions of these costs less than parsing them
    if not rows.is_csv:  # the text forms carry neither answers nor ratings
        return [ParsedPuzzle(g, line, name) for g, line in zip(grids, lines, strict=True)]
    known = [a if k else None for a, k in zip(answers, puzzles.has_answer.tolist(), strict=True)]
    ratings = [r if r >= 0 else None for r in puzzles.ratings.tolist()]
    return [
        ParsedPuzzle(g, line, name, answer, rating)
        for g, line, answer, rating in zip(grids, lines, known, ratings, strict=True)
    ]
