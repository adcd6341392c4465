"""The board renderer on fixed boards: plain-text export (markers), styles, captions, verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console, RenderableType
from rich.style import Style

from engine.solving.inference import SolveResult
from puzzles.grid import from_line
from puzzles.verdict import Verdict
from trm_tui.board import render_board, render_step, render_verdict

SOLUTION = from_line(
    "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
)
GOLDEN = """\
┌───────┬───────┬───────┐
│!4 3!4 │!1*7 8 │ 9!1 2 │
│ 6 7 2 │!1 9 5 │ 3 4 8 │
│ 1 9 8 │ 3 4 2 │ 5 6 7 │
├───────┼───────┼───────┤
│ 8 5 9 │ 7 6 1 │ 4 2 3 │
│!4 2 6 │ 8 5 3 │ 7 9 1 │
│ 7 1 3 │ 9 2 4 │ 8 5 6 │
├───────┼───────┼───────┤
│ 9 6 1 │ 5 3 7 │ 2 8 4 │
│ 2 8 7 │ 4 1 9 │ 6 3 5 │
│ 3 4 5 │ 2 8 6 │ 1 7*9 │
└───────┴───────┴───────┘
"""


def text_of(renderable: RenderableType) -> str:
    console = Console(record=True, width=100, color_system=None)
    console.print(renderable)
    return console.export_text()


def puzzle() -> np.ndarray:
    grid = SOLUTION.copy()
    grid[::2] = 0  # givens at the odd cells
    return grid


def answer() -> np.ndarray:
    """The solution with cell 0 (model's) set to 4 and given cell 3 overwritten with 1."""
    grid = SOLUTION.copy()
    grid[0], grid[3] = 4, 1
    return grid


def digit_offset(k: int) -> int:
    """Where cell k's digit is in the board's plain text (26 characters a line)."""
    r, c = divmod(k, 9)
    return 26 * (1 + r + r // 3) + 1 + (c // 3) * 8 + (c % 3) * 2 + 1


def test_plain_text_marks_changes_and_rule_breakers() -> None:
    previous = answer()
    previous[[4, 80]] = [1, 2]  # the model changed cells 4 and 80 since
    assert text_of(render_board(puzzle(), answer(), previous=previous)) == GOLDEN


def test_without_conflicts_only_changed_givens_are_marked() -> None:
    text = text_of(render_board(puzzle(), answer(), show_conflicts=False))
    assert text.splitlines()[1] == "│ 4 3 4 │!1 7 8 │ 9 1 2 │"
    assert text.count("!") == 1 and "*" not in text


def test_empty_cells_are_dots() -> None:
    lines = text_of(render_board(puzzle(), puzzle())).splitlines()
    assert lines[1] == "│ . 3 . │ 6 . 8 │ . 1 . │"


def test_styles_show_givens_confidence_changes_and_conflicts() -> None:
    confidence = np.linspace(0, 1, 81)
    previous = answer()
    previous[4] = 1
    board = render_board(puzzle(), answer(), confidence=confidence, previous=previous)
    console = Console(color_system="truecolor")

    def style(k: int) -> Style:
        return board.get_style_at_offset(console, digit_offset(k))

    assert board.plain[digit_offset(80)] == "9" and board.plain[digit_offset(0)] == "4"
    assert style(1).bold and not style(1).reverse  # a given
    assert style(4).reverse  # changed since the previous step
    assert style(0).color.name == "red" and style(3).color.name == "red"  # rule breakers
    low, high = style(18).color.triplet, style(80).color.triplet  # model cells, unsure vs sure
    assert sum(high) > sum(low)


def solve_result() -> SolveResult:
    """Two rows over two steps: row 0 solved at step 2, row 1 halted (invalid) at step 1."""
    first = answer()
    grids = np.stack([np.stack([first, SOLUTION]), np.stack([first, first])])
    return SolveResult(
        puzzles=np.stack([puzzle(), puzzle()]),
        grids=grids,
        confidence=np.full((2, 2, 81), 0.9, dtype=np.float32),
        q_halt_logit=np.array([[-2.0, 0.0], [3.0, 3.0]], dtype=np.float32),
        halted_at=np.array([2, 1]),
        final=np.stack([SOLUTION, first]),
    )


def test_step_captions_and_the_final_verdict() -> None:
    result = solve_result()
    first = text_of(render_step(result, 0, 1, SOLUTION)).splitlines()
    # Step 1 compares with the puzzle: 41 empty cells filled, one given overwritten.
    assert first[-1] == "step 1/2 · halt p=0.12 · 42 changed"
    last = text_of(render_step(result, 0, 2, SOLUTION)).splitlines()
    assert last[-2:] == ["step 2/2 · halt p=0.50 · 2 changed", "✓ solved"]
    assert "*" in last[1]  # the two corrected cells of row 0 of the board
    halted = text_of(render_step(result, 1, 1, SOLUTION)).splitlines()
    assert halted[-2] == "step 1/1 · halt p=0.95 · 42 changed"
    verdict = "✗ invalid: givens changed, 2 cells differ from the solution, 6 cells in conflict"
    assert halted[-1] == verdict
    with pytest.raises(ValueError, match=r"1\.\.1"):
        render_step(result, 1, 2, SOLUTION)


def test_only_the_final_step_when_steps_were_not_kept() -> None:
    full = solve_result()
    result = SolveResult(
        puzzles=full.puzzles,
        grids=full.grids[:, -1:],
        confidence=full.confidence[:, -1:],
        q_halt_logit=full.q_halt_logit[:, -1:],
        halted_at=full.halted_at,
        final=full.final,
    )
    lines = text_of(render_step(result, 0, 2, None)).splitlines()
    assert lines[-2:] == ["step 2/2 · halt p=0.50", "✓ solved"]  # no previous step: no count
    with pytest.raises(ValueError, match="final step"):
        render_step(result, 0, 1, None)


def test_verdict_lines() -> None:
    assert text_of(render_verdict(Verdict("solved", 0, 0, True))) == "✓ solved\n"
    wrong = render_verdict(Verdict("wrong", 3, 0, True))
    assert text_of(wrong) == "✗ wrong: 3 cells differ from the solution\n"
    clashing = render_verdict(Verdict("wrong", 2, 4, True))
    assert text_of(clashing) == "✗ wrong: 2 cells differ from the solution, 4 cells in conflict\n"
    invalid = render_verdict(Verdict("invalid", -1, 4, False))
    assert text_of(invalid) == "✗ invalid: givens changed, no solution known, 4 cells in conflict\n"
