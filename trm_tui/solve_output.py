"""What `trm solve` prints: each puzzle's board, steps and verdict, its JSON line, and the summary.

:class:`SolveRun` holds what one `trm solve` computed; :mod:`trm_tui.solve_cli` fills it and
hands it to the functions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    import numpy as np

    from engine.solving.inference import SolveResult
    from engine.solving.sampling import SampleResult
    from puzzles.verdict import Verdicts


@dataclass
class SolveRun:
    """What one `trm solve` computed: traces, the answers judged, exact solutions, verdicts."""

    puzzles: np.ndarray  # (N, 81)
    result: SolveResult  # the selected samples' traces (the identity samples' with vote)
    final: np.ndarray  # (N, 81) the answers judged: the selected (or voted) ones
    k: int  # samples per puzzle (1: one trajectory)
    model_seconds: float  # time spent in the model
    sampled: SampleResult
    noise: float = 0.0
    solutions: np.ndarray | None = None  # (N, 81) exact solutions, zeros where there is none
    n_solutions: np.ndarray | None = None  # (N,) solutions counted, capped at 2
    verdicts: Verdicts | None = None
    wall_seconds: float = 0.0


def json_line(run: SolveRun, row: int) -> dict[str, Any]:
    """One puzzle's JSON object (the issue's schema, plus verdict details)."""
    from puzzles.grid import to_line

    result = run.result
    halted_at = int(result.halted_at[row])
    steps = []
    previous = run.puzzles[row]
    for t in range(1, halted_at + 1):
        grid = result.grids[row, t - 1]
        steps.append(
            {
                "step": t,
                "grid": to_line(grid, empty="0"),
                "q_halt_logit": float(result.q_halt_logit[row, t - 1]),
                "changed": int((grid != previous).sum()),
            }
        )
        previous = grid
    verdict = run.verdicts[row]
    line = {
        "puzzle": to_line(run.puzzles[row], empty="0"),
        "steps": steps,
        "halted_at": halted_at,
        "final": to_line(run.final[row], empty="0"),
        "solved": verdict.is_solved,
        "valid": verdict.is_valid,
        "verdict": verdict.kind,
        "n_wrong": verdict.n_wrong,
        "n_solutions": int(run.n_solutions[row]),
    }
    sampled = run.sampled
    line["samples"] = run.k
    line["select"] = sampled.rule
    line["selected"] = None if sampled.selected[row] < 0 else int(sampled.selected[row])
    line["steps_spent"] = int(sampled.steps_spent[row])
    line["per_sample"] = [
        {
            "halted_at": int(sampled.halted_at[row, j]),
            "fired": bool(sampled.fired[row, j]),
            "q_halt_logit": float(sampled.q_halt[row, j]),
            "valid": bool(sampled.valid[row, j]),
        }
        for j in range(run.k)
    ]
    if sampled.agreement is not None:
        line["agreement"] = float(sampled.agreement[row])
    return line


def print_puzzle(out: Console, run: SolveRun, row: int, where: str, show_steps: bool) -> None:
    """One puzzle: every step (with --show-steps) or the final board, and the verdict."""
    from trm_tui.board import halt_probability, render_board, render_step, render_verdict

    result = run.result
    halted_at = int(result.halted_at[row])
    solution = run.solutions[row] if run.n_solutions[row] > 0 else None
    out.print(Text(f"puzzle {row + 1} ({where})", style="bold"))
    sampled = run.sampled
    voted = sampled.agreement is not None
    if show_steps and run.k > 1:
        out.print(Text(_which_sample(run, row), style="dim"))
    if show_steps:
        for t in range(1, halted_at + 1):
            out.print(render_step(result, row, t, solution))
    if voted:
        note = f"voted over {run.k} samples · agreement {sampled.agreement[row]:.2f}"
        out.print(Text(note, style="dim"))
    if voted or not show_steps:
        out.print(render_board(run.puzzles[row], run.final[row]))
        if not voted:
            p = halt_probability(result.q_halt_logit[row, -1])
            note = f"answer of step {halted_at} · halt p={p:.2f}"
            if run.k > 1:
                note += f" · {_which_sample(run, row)}"
            out.print(Text(note, style="dim"))
        out.print(render_verdict(run.verdicts[row]))
    if run.n_solutions[row] > 1:
        out.print(Text("note: this puzzle has several solutions", style="yellow"))
    elif run.n_solutions[row] == 0:
        out.print(Text("note: this puzzle has no solution", style="yellow"))


def _which_sample(run: SolveRun, row: int) -> str:
    """Which of the puzzle's samples is shown, why, and what the puzzle cost."""
    sampled = run.sampled
    chosen = int(sampled.selected[row])
    spent = f"{int(sampled.steps_spent[row])} steps spent"
    if chosen < 0:
        return f"steps of sample 1/{run.k} (the vote picks no sample) · {spent}"
    why = "its answer obeys the rules" if sampled.valid[row, chosen] else "halting head"
    return f"sample {chosen + 1}/{run.k} selected ({sampled.rule}: {why}) · {spent}"


def summary_lines(run: SolveRun, device: str, checkpoint: Path) -> list[str]:
    """Solve rate, validity, mean halting step, puzzles/s; with samples, the steps they spent."""
    n = len(run.puzzles)
    solved, valid = int(run.verdicts.solved.sum()), int(run.verdicts.valid.sum())
    halted = run.result.halted_at
    lines = [
        f"solved {solved}/{n} ({solved / n:.1%}) · valid {valid}/{n} · "
        f"cells right {_cells_right(run.verdicts)} · "
        f"mean halting step {halted.mean():.2f} (max {int(halted.max())})"
    ]
    if run.k > 1:
        sampled = run.sampled
        noise = f", noise {run.noise:g}" if run.noise > 0 else ""
        spent = sampled.steps_spent
        any_valid = int(sampled.valid.any(axis=1).sum())
        lines.append(
            f"samples x{run.k} ({sampled.rule}{noise}): {spent.mean():.2f} steps spent per puzzle "
            f"(summed over its samples; max {int(spent.max())}) · "
            f"{any_valid}/{n} puzzles with a sample that obeys the rules"
        )
    several, none = int((run.n_solutions > 1).sum()), int((run.n_solutions == 0).sum())
    if several or none:
        lines.append(f"note: {several} puzzles have several solutions, {none} have none")
    lines.append(
        f"{n / run.model_seconds:.3g} puzzles/s model ({run.model_seconds:.2f} s) · "
        f"{n / run.wall_seconds:.3g} puzzles/s wall ({run.wall_seconds:.2f} s) · {device} · "
        f"{checkpoint}"
    )
    return lines


def _cells_right(verdicts: Verdicts) -> str:
    """Cells equal to the exact solution, over the puzzles that have one (the others have no
    right cell; the summary's note counts them)."""
    share = verdicts.cells_right()
    if share is None:
        return "n/a (no puzzle has a solution)"
    n_known = verdicts.n_known
    if n_known == len(verdicts):
        return f"{share:.1%}"
    return f"{share:.1%} of {n_known} puzzle{'' if n_known == 1 else 's'} with a solution"
