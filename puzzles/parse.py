"""Reading Sudoku puzzles from the text forms people and tools write.

Accepted forms, mixed freely in one file:

- 81-character lines, ``.``, ``0``, ``_`` or ``*`` for an empty cell;
- 9 lines of 9 cells, with or without separators (``|``, ``-``, ``+``, ``=``, ``:``, spaces), as
  printed by common tools: ``5 3 . | . 7 . | . . .`` rows, ``------+-------+------`` or ``+---+``
  rule lines (rule lines are skipped);
- several puzzles per file, one after another or separated by blank lines; ``#`` starts a comment;
- the Sudoku-Extreme CSV (header ``source,question,answer,rating``; other columns ignored, answer
  and rating may be empty), recognised by a header line naming a ``question`` column.

Every puzzle is checked: 81 cells, only known characters, no digit repeated in a row, column or
box, an answer (if given) that is a full valid grid agreeing with the givens, and (optionally,
since it costs a solver call) that the puzzle has a solution. A bad puzzle raises
:class:`PuzzleFormatError` whose text is ``FILE:LINE: reason``, LINE being the line of the
puzzle's first row of cells (a frame's top rule line is not counted).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from puzzles.grid import BOXES, COLS, N_CELLS, ROWS, agrees_with_givens, is_complete_solution

EMPTY_CHARS = ".0_*"
CELL_CHARS = "123456789" + EMPTY_CHARS
SEPARATOR_CHARS = " \t|+-=:"
STDIN_NAME = "<stdin>"


class PuzzleFormatError(ValueError):
    """A puzzle file is malformed; ``str()`` is ``FILE:LINE: reason`` (``FILE: reason`` if line 0)."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}" if line > 0 else f"{source}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class ParsedPuzzle:
    """One puzzle read from a file, with where it came from."""

    grid: np.ndarray  # (81,) uint8, 0 = empty
    line: int  # 1-based line of the puzzle's first row of cells (its CSV row)
    source: str  # file name as given (or "<stdin>")
    answer: np.ndarray | None = None  # (81,) uint8 solution, when the file gives one
    rating: int | None = None  # Sudoku-Extreme rating (solver guesses), when the file gives one


def read_puzzles(
    path: str | Path, text: str | None = None, check_solvable: bool = False
) -> list[ParsedPuzzle]:
    """Read every puzzle of a file (``-`` = stdin, or ``text`` if given), checking each one."""
    name = STDIN_NAME if str(path) == "-" else str(path)
    if text is None:
        if str(path) == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(path).read_text(encoding="utf-8-sig")
            except FileNotFoundError:
                raise PuzzleFormatError(name, 0, "no such file") from None
            except IsADirectoryError:
                raise PuzzleFormatError(name, 0, "is a directory, expected a puzzle file") from None
            except UnicodeDecodeError:
                raise PuzzleFormatError(name, 0, "not a UTF-8 text file") from None
    puzzles = parse_text(text, name)
    if check_solvable:
        check_has_solution(puzzles)
    return puzzles


def parse_text(text: str, name: str = "<text>") -> list[ParsedPuzzle]:
    """Parse puzzle text in any accepted form; ``name`` is used in error messages."""
    lines = text.removeprefix("\ufeff").splitlines()
    for number, raw in enumerate(lines, start=1):
        stripped = raw.split("#", 1)[0].strip()
        if not stripped:
            continue
        if "question" in stripped.lower().split(","):
            return _parse_csv(lines, number, name)
        break
    return _parse_grids(lines, name)


def check_has_solution(puzzles: list[ParsedPuzzle]) -> None:
    """Raise :class:`PuzzleFormatError` for the first puzzle the solver finds no solution for."""
    if not puzzles:
        return
    from puzzles.solver import solve_batch  # lazy: the solver compiles on first use

    result = solve_batch(np.stack([p.grid for p in puzzles]), limit=1)
    for puzzle, n_solutions in zip(puzzles, result.n_solutions, strict=True):
        if n_solutions == 0:
            raise PuzzleFormatError(puzzle.source, puzzle.line, "puzzle has no solution")


def _parse_grids(lines: list[str], name: str) -> list[ParsedPuzzle]:
    """Grid and 81-character forms: collect cells line by line until 81 make a puzzle."""
    puzzles: list[ParsedPuzzle] = []
    cells: list[str] = []
    start = 0
    n_rows = 0
    for number, raw in enumerate(lines, start=1):
        content = raw.split("#", 1)[0]
        if not raw.strip():
            if cells:  # a blank line ends an unfinished grid
                raise PuzzleFormatError(name, start, _short_grid(n_rows, len(cells)))
            continue
        if not content.strip():
            continue  # a comment line, also allowed between the rows of a grid
        row = _cells_of(content, name, number)
        if not row:
            continue  # a rule line such as ------+-------+------
        if not cells:
            start = number
            if len(row) == N_CELLS:
                puzzles.append(_checked(row, name, number))
                continue
        if len(row) != 9:
            expected = "81 cells on one line or 9 per row" if not cells else "9 cells in a row"
            raise PuzzleFormatError(name, number, f"expected {expected}, found {len(row)}")
        cells.extend(row)
        n_rows += 1
        if len(cells) == N_CELLS:
            puzzles.append(_checked(cells, name, start))
            cells, n_rows = [], 0
    if cells:
        raise PuzzleFormatError(name, start, _short_grid(n_rows, len(cells)))
    return puzzles


def _short_grid(n_rows: int, n_cells: int) -> str:
    rows = "row" if n_rows == 1 else "rows"
    return f"grid ends after {n_rows} {rows} ({n_cells} cells), expected 9 rows of 9"


def _cells_of(content: str, name: str, number: int) -> list[str]:
    """The cell characters of one line; separators dropped, anything else is an error."""
    cells = []
    for column, ch in enumerate(content, start=1):
        if ch in CELL_CHARS:
            cells.append(ch)
        elif ch not in SEPARATOR_CHARS:
            raise PuzzleFormatError(name, number, f"unexpected character {ch!r} in column {column}")
    return cells


def _checked(
    cells: list[str] | str,
    name: str,
    line: int,
    answer: np.ndarray | None = None,
    rating: int | None = None,
) -> ParsedPuzzle:
    """Build a puzzle from 81 cell characters and reject broken Sudoku rules."""
    grid = np.array([0 if ch in EMPTY_CHARS else int(ch) for ch in cells], dtype=np.uint8)
    problem = rule_violation(grid)
    if problem:
        raise PuzzleFormatError(name, line, problem)
    if answer is not None:
        if not is_complete_solution(answer):
            raise PuzzleFormatError(name, line, "answer is not a valid completed grid")
        if not agrees_with_givens(grid, answer):
            raise PuzzleFormatError(name, line, "answer disagrees with the puzzle's givens")
    return ParsedPuzzle(grid=grid, line=line, source=name, answer=answer, rating=rating)


def rule_violation(grid: np.ndarray) -> str | None:
    """Describe the first digit repeated in a row, column or box (1-based), or None."""
    for kind, houses in (("row", ROWS), ("column", COLS), ("box", BOXES)):
        for index, house in enumerate(houses, start=1):
            digits = grid[house]
            digits = digits[digits > 0]
            counts = np.bincount(digits, minlength=10)
            if counts.max(initial=0) > 1:
                return f"digit {int(counts.argmax())} repeats in {kind} {index}"
    return None


def _parse_csv(lines: list[str], header_line: int, name: str) -> list[ParsedPuzzle]:
    """Sudoku-Extreme CSV: ``source,question,answer,rating`` with a header line."""
    header = [h.strip().lower() for h in lines[header_line - 1].split("#", 1)[0].split(",")]
    column = {h: i for i, h in enumerate(header)}
    puzzles = []
    rows = csv.reader(lines[header_line:])
    for number, fields in enumerate(rows, start=header_line + 1):
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        if len(fields) != len(header):
            raise PuzzleFormatError(
                name, number, f"expected {len(header)} fields like the header, found {len(fields)}"
            )
        question = fields[column["question"]].strip()
        if len(question) != N_CELLS:
            raise PuzzleFormatError(
                name, number, f"question has {len(question)} cells, expected 81"
            )
        bad = next((ch for ch in question if ch not in CELL_CHARS), None)
        if bad is not None:
            raise PuzzleFormatError(name, number, f"unexpected character {bad!r} in question")
        answer = _csv_answer(fields, column, name, number)
        rating = _csv_rating(fields, column, name, number)
        puzzles.append(_checked(question, name, number, answer, rating))
    return puzzles


def _csv_answer(
    fields: list[str], column: dict[str, int], name: str, number: int
) -> np.ndarray | None:
    text = fields[column["answer"]].strip() if "answer" in column else ""
    if not text:
        return None
    if len(text) != N_CELLS or not set(text) <= set("123456789"):
        raise PuzzleFormatError(name, number, "answer must be 81 digits 1-9 (or empty)")
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")


def _csv_rating(fields: list[str], column: dict[str, int], name: str, number: int) -> int | None:
    text = fields[column["rating"]].strip() if "rating" in column else ""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise PuzzleFormatError(name, number, f"rating {text!r} is not a non-negative integer")
    return int(text)
