"""`trm solve`: a trained TRM answers puzzles, step by step on request, over ``engine.solving``.

Thin: reading puzzles (``puzzles.parse``), the exact solutions the verdicts compare with
(``puzzles.solver``), the model (``engine.evaluate.load_trained_model``) and the solving itself
(``engine.solving.sampling``) live elsewhere; this module picks the checkpoint and runs the
model, and :mod:`trm_tui.solve_output` prints what it computed.
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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from trm_tui.errors import fail
from trm_tui.solve_output import SolveRun, json_line, print_puzzle, summary_lines

if TYPE_CHECKING:
    import numpy as np

MANY_PUZZLES = 20  # above this, without --show-steps, only the summary is printed


def default_checkpoint(runs_dir: Path) -> Path | None:
    """The model `trm solve` uses without --checkpoint: the most recent run's best checkpoint,
    else the model shipped inside the package."""
    from engine.run_dir import latest_run_checkpoint
    from engine.shipped import shipped_checkpoint

    return latest_run_checkpoint(runs_dir) or shipped_checkpoint()


def _checkpoint_for(checkpoint: Path | None, runs_dir: Path) -> Path:
    """The checkpoint to load: the one given, else the default; a clear exit 2 when there is
    none."""
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
            typer.echo(json.dumps(json_line(run, row)))
    elif show_steps or len(puzzles) <= MANY_PUZZLES:
        for row, puzzle in enumerate(parsed):
            print_puzzle(out, run, row, f"{puzzle.source}:{puzzle.line}", show_steps)
    summary = err if as_json else out
    for line in summary_lines(run, describe(device, dtype), trained.path):
        summary.print(line, markup=False)


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
) -> SolveRun:
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
    return SolveRun(puzzles, trace, sampled.answers, k, seconds, sampled, noise)
