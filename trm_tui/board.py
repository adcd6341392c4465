"""The Sudoku board renderer shared by `trm solve --show-steps` and the dashboard's solve view.

Draws with rich, and reads well without colour too (tests export plain text)::

    ┌───────┬───────┬───────┐
    │ 5 3*4 │ 6 7!8 │ 9 1 2 │
    ...
    └───────┴───────┴───────┘

Each cell is a one-character marker and the digit (``.`` when empty). Markers: ``!`` the cell
breaks a rule (its digit repeats in a row, column or box, or it overwrites a given), ``*`` the
model changed it since the previous step. In colour, givens are bold white; the model's cells
are cyan whose intensity follows its confidence (probability of the chosen digit), changed cells
are reversed and rule breakers red. The halting probability in the caption is
``sigmoid(q_halt_logit)``, the halting head's belief that the current answer is right.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.color import Color
from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from puzzles.grid import N_CELLS, conflicts
from puzzles.verdict import Verdict, judge

GIVEN = Style(bold=True, color="bright_white")
EMPTY = Style(dim=True)
BREAKS_RULE = Style(bold=True, color="red")
LOW_CONFIDENCE = (70, 90, 100)  # rgb of a cell the model is unsure of (confidence 0)
HIGH_CONFIDENCE = (80, 230, 255)  # rgb of a cell the model is sure of (confidence 1)
TOP = "┌───────┬───────┬───────┐"
MIDDLE = "├───────┼───────┼───────┤"
BOTTOM = "└───────┴───────┴───────┘"


def render_board(
    puzzle: np.ndarray,
    grid: np.ndarray,
    *,
    confidence: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    show_conflicts: bool = True,
) -> RenderableType:
    """A 9x9 board of ``grid`` (81,) over ``puzzle``'s givens, with changes and conflicts marked."""
    puzzle = _cells(puzzle, "puzzle")
    grid = _cells(grid, "grid")
    breaks = (puzzle > 0) & (grid != puzzle)
    if show_conflicts:
        breaks |= conflicts(grid)
    changed = np.zeros(N_CELLS, dtype=bool)
    if previous is not None:
        changed = grid != _cells(previous, "previous")
    text = Text(no_wrap=True)
    text.append(TOP + "\n")
    for r in range(9):
        if r in (3, 6):
            text.append(MIDDLE + "\n")
        for c in range(9):
            k = 9 * r + c
            text.append("│" if c % 3 == 0 else "")
            marker = "!" if breaks[k] else "*" if changed[k] else " "
            digit = "." if grid[k] == 0 else str(int(grid[k]))
            style = _cell_style(
                bool(puzzle[k] > 0),
                bool(grid[k] == 0),
                None if confidence is None else float(confidence[k]),
            )
            if changed[k]:
                style += Style(reverse=True)
            if breaks[k]:
                style += BREAKS_RULE
            text.append(marker, style=BREAKS_RULE if breaks[k] else None)
            text.append(digit, style=style)
            if c % 3 == 2:
                text.append(" ")
        text.append("│\n")
    text.append(BOTTOM)
    return text


def render_step(result: Any, row: int, step: int, solution: np.ndarray | None) -> RenderableType:
    """Row ``row``'s board after supervision step ``step`` (1-based) and its caption (+ verdict when
    final).

    ``result`` is an ``engine.solving.inference.SolveResult`` (or anything with its fields). When
    only the final step was kept (``keep_steps=False``), only ``step == halted_at[row]`` can be
    drawn.
    """
    puzzle = result.puzzles[row]
    last = int(result.halted_at[row])
    if not 1 <= step <= last:
        raise ValueError(f"step must be in 1..{last} for row {row}, got {step}")
    kept_all = result.grids.shape[1] >= last
    if not kept_all and step != last:
        raise ValueError(f"only the final step ({last}) was kept for row {row}")
    index = step - 1 if kept_all else result.grids.shape[1] - 1
    grid = result.grids[row, index]
    previous = None
    if kept_all:
        previous = puzzle if step == 1 else result.grids[row, index - 1]
    board = render_board(puzzle, grid, confidence=result.confidence[row, index], previous=previous)
    caption = f"step {step}/{last} · halt p={halt_probability(result.q_halt_logit[row, index]):.2f}"
    if previous is not None:
        caption += f" · {int((grid != previous).sum())} changed"
    parts: list[RenderableType] = [board, Text(caption, style="dim")]
    if step == last:
        parts.append(render_verdict(judge(puzzle, grid, solution)))
    return Group(*parts)


def render_verdict(verdict: Verdict) -> RenderableType:
    """One line: solved, wrong (cells differing from the solution, cells in conflict) or invalid
    (givens changed)."""
    if verdict.kind == "solved":
        return Text("✓ solved", style="bold green")
    parts = [
        f"{verdict.n_wrong} cells differ from the solution"
        if verdict.n_wrong >= 0
        else "no solution known"
    ]
    if verdict.n_conflicts:
        parts.append(f"{verdict.n_conflicts} cells in conflict")
    if verdict.kind == "wrong":
        return Text(f"✗ wrong: {', '.join(parts)}", style="bold yellow")
    return Text(f"✗ invalid: givens changed, {', '.join(parts)}", style="bold red")


def halt_probability(q_halt_logit: float) -> float:
    """``sigmoid(q_halt_logit)``, without overflow for large logits."""
    return 0.5 * (1.0 + math.tanh(0.5 * float(q_halt_logit)))


def _cell_style(is_given: bool, is_empty: bool, confidence: float | None) -> Style:
    """Givens bold white; empty cells dim; the model's cells cyan, brighter when more confident."""
    if is_given:
        return GIVEN
    if is_empty:
        return EMPTY
    if confidence is None:
        return Style(color="cyan")
    p = min(1.0, max(0.0, confidence))
    pairs = zip(LOW_CONFIDENCE, HIGH_CONFIDENCE, strict=True)
    rgb = [round(lo + (hi - lo) * p) for lo, hi in pairs]
    return Style(color=Color.from_rgb(*rgb))


def _cells(grid: np.ndarray, name: str) -> np.ndarray:
    """``grid`` as an (81,) uint8 array, or a ValueError naming the argument."""
    array = np.asarray(grid)
    if array.shape != (N_CELLS,):
        raise ValueError(f"{name} must have shape (81,), got {array.shape}")
    return array.astype(np.uint8)
