"""`trm solve`: a trained TRM answers puzzles, step by step on request, over ``engine.solving``.

Thin: reading puzzles (``puzzles.parse``), the exact solutions the verdicts compare with
(``puzzles.solver``), the model (``engine.evaluate.load_trained_model``) and the solving itself
(``engine.solving.sampling``) live elsewhere; this module picks the checkpoint and prints.
Torch, numpy and the engine are imported inside the command, so ``trm --help`` stays fast.
``--json`` writes one object per puzzle per line on stdout and nothing else there (the summary
goes to stderr).

Every puzzle is solved as ``--samples K`` samples (symmetry views, optionally ``--noise``) and
one is selected (``--select``); the steps shown (and ``steps`` / ``halted_at`` in JSON) are the
selected sample's, in the puzzle's own cells and digits (with ``vote``: the identity sample's).
``--samples 1`` is plain solving, one trajectory, and prints exactly what it always did.
Exit codes (DESIGN.md): 0 when it ran, whether or not puzzles were solved; 2 for bad input.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.text import Text

from trm_tui.errors import fail

if TYPE_CHECKING:
    import numpy as np

    from engine.solving.inference import SolveResult
    from engine.solving.sampling import SampleResult
    from puzzles.verdict import Verdicts

MANY_PUZZLES = 20  # above this, without --show-steps, only the summary is printed


def default_checkpoint(runs_dir: Path) -> Path | None:
    """The model `trm solve` uses without --checkpoint: the most recent run's best checkpoint,
    else the model shipped inside the package."""
    from engine.run_dir import latest_run_checkpoint
    from engine.shipped import shipped_checkpoint

    return latest_run_checkpoint(runs_dir) or shipped_checkpoint()


def _checkpoint_for(checkpoint: Path | None, runs_dir: Path) -> Path:
    """The checkpoint to load: the one given, else the default; a clear exit 2 when there is none."""
    if checkpoint is not None:
        if not checkpoint.exists():
            fail(f"{checkpoint}: no such checkpoint file or run directory")
        return checkpoint
    found = default_checkpoint(runs_dir)
    if found is None:
        fail(
            f"{runs_dir}: no trained model found and this install has no shipped model; "
            "train one with `trm train --cgar` (or pass --checkpoint PATH)"
        )
    return found


def check_sampling(samples: int, select: str | None, noise: float) -> str:
    """The selection rule to use (``valid`` for K > 1, ``halt-first`` for one sample unless
    given); a clear exit 2 for a bad rule or noise scale. Shared with `trm eval`."""
    from engine.solving.selection import HALT_FIRST, RULES, VALID

    if select is not None and select not in RULES:
        fail(f"--select: must be one of {', '.join(RULES)}, got {select!r}")
    if noise < 0:
        fail(f"--noise: must be >= 0, got {noise}")
    return select or (VALID if samples > 1 else HALT_FIRST)


def _check_counts(**counts: int | None) -> None:
    """Every given count option must be at least 1."""
    for name, value in counts.items():
        if value is not None and value < 1:
            fail(f"--{name.replace('_', '-')}: must be >= 1, got {value}")


def solve_command(
    file: Annotated[
        str, typer.Argument(help="Puzzle file (any format trm reads), or - for stdin.")
    ],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Run directory or checkpoint (default: the latest run, else the shipped model).",
        ),
    ] = None,
    show_steps: Annotated[
        bool, typer.Option("--show-steps", help="Print the board after every supervision step.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per puzzle.")] = False,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Supervision steps at most (default N_sup).")
    ] = None,
    halt: Annotated[
        bool, typer.Option("--halt/--no-halt", help="Stop at the first step with q_halt > 0.")
    ] = True,
    n_latent: Annotated[
        int | None, typer.Option("--n-latent", help="n: latent recursions (default: saved).")
    ] = None,
    n_cycles: Annotated[
        int | None, typer.Option("--n-cycles", help="T: recursion cycles (default: saved).")
    ] = None,
    n_heads: Annotated[
        int | None,
        typer.Option("--n-heads", help="Attention heads of a reference checkpoint (default 8)."),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            help=f"K: solve each puzzle as K samples, one selected (default {_default_k()}; "
            "1 = one trajectory).",
        ),
    ] = None,
    select: Annotated[
        str | None,
        typer.Option(
            "--select",
            help="halt-first, valid or vote (default: valid for K > 1, halt-first for K = 1).",
        ),
    ] = None,
    noise: Annotated[
        float, typer.Option("--noise", help="SIGMA: Gaussian noise on z for samples 2..K.")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the views and the noise.")] = 0,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Rows (puzzle-samples) per batch.")
    ] = 512,
    device_name: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, mps.")] = "auto",
    precision: Annotated[str, typer.Option("--precision", help="auto, fp32 or bf16.")] = "auto",
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="Where to look for the latest run.")
    ] = Path("runs"),
) -> None:
    """Solve puzzles with a trained model: final boards and verdicts, or every step."""
    k = _default_k() if samples is None else samples
    _check_counts(
        max_steps=max_steps,
        n_latent=n_latent,
        n_cycles=n_cycles,
        n_heads=n_heads,
        samples=k,
        batch_size=batch_size,
    )
    rule = check_sampling(k, select, noise)
    started = time.perf_counter()
    import numpy as np

    from engine.checkpoint import CheckpointError
    from engine.config import ConfigError
    from engine.device import describe, resolve_device
    from engine.evaluate import load_trained_model
    from engine.precision import resolve_precision
    from puzzles.parse import PuzzleFormatError, read_puzzles
    from puzzles.solver import solve_batch
    from puzzles.verdict import judge_batch

    try:
        parsed = read_puzzles(file)
    except PuzzleFormatError as e:
        fail(str(e))  # an empty file included: the reader says "no puzzles found"
    path = _checkpoint_for(checkpoint, runs_dir)
    try:
        device = resolve_device(device_name, "--device")
        dtype = resolve_precision(precision, device, "infer", "--precision")
        trained = load_trained_model(
            path, device, n_latent=n_latent, n_cycles=n_cycles, n_heads=n_heads
        )
    except (CheckpointError, ConfigError) as e:
        fail(str(e))
    puzzles = np.stack([p.grid for p in parsed])
    exact = solve_batch(puzzles, limit=2)
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    options = {
        "n_latent": n_latent,
        "n_cycles": n_cycles,
        "max_steps": max_steps,
        "halt": halt,
        "batch_size": batch_size,
        "keep_steps": show_steps or as_json,
        "precision": precision,
    }
    run = _solve_all(trained.model, puzzles, k, rule, noise, seed, options, err)
    run.solutions, run.n_solutions = exact.solutions, exact.n_solutions
    run.verdicts = judge_batch(puzzles, run.final, exact.solutions)
    run.wall_seconds = time.perf_counter() - started
    if as_json:
        for row in range(len(puzzles)):
            typer.echo(json.dumps(_json_line(run, row)))
    elif show_steps or len(puzzles) <= MANY_PUZZLES:
        for row, puzzle in enumerate(parsed):
            _print_puzzle(out, run, row, f"{puzzle.source}:{puzzle.line}", show_steps)
    summary = err if as_json else out
    for line in _summary(run, describe(device, dtype), trained.path):
        summary.print(line, markup=False)


@dataclass
class _Run:
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


def _default_k() -> int:
    from engine.solving import DEFAULT_SAMPLES

    return DEFAULT_SAMPLES


def _solve_all(
    model: Any,
    puzzles: np.ndarray,
    k: int,
    rule: str,
    noise: float,
    seed: int,
    options: dict[str, Any],
    err: Console,
) -> _Run:
    """Solve ``k`` samples of every puzzle and select, with a progress bar on stderr when it
    takes batches."""
    import numpy as np

    from engine.solving.sampling import solve_samples

    total = len(puzzles) * k
    bar = Progress(
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=total <= options["batch_size"],
    )
    task = bar.add_task("solving", total=total)

    def advance(n: int) -> None:
        bar.advance(task, n)

    started = time.perf_counter()
    with bar:
        sampled = solve_samples(
            model,
            puzzles,
            k,
            np.random.default_rng(seed),
            rule=rule,
            noise=noise,
            progress=advance,
            **options,
        )
    seconds = time.perf_counter() - started
    trace = sampled.selected_trace()
    return _Run(puzzles, trace, sampled.answers, k, seconds, sampled, noise)


def _json_line(run: _Run, row: int) -> dict[str, Any]:
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


def _print_puzzle(out: Console, run: _Run, row: int, where: str, show_steps: bool) -> None:
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


def _which_sample(run: _Run, row: int) -> str:
    """Which of the puzzle's samples is shown, why, and what the puzzle cost."""
    sampled = run.sampled
    chosen = int(sampled.selected[row])
    spent = f"{int(sampled.steps_spent[row])} steps spent"
    if chosen < 0:
        return f"steps of sample 1/{run.k} (the vote picks no sample) · {spent}"
    why = "its answer obeys the rules" if sampled.valid[row, chosen] else "halting head"
    return f"sample {chosen + 1}/{run.k} selected ({sampled.rule}: {why}) · {spent}"


def _summary(run: _Run, device: str, checkpoint: Path) -> list[str]:
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
