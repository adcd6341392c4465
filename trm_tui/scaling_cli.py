"""`trm bench scaling FILE`: exact accuracy against supervision steps spent, for every K of
``--samples`` and every selection rule, with and without ``--noise``; a table, JSON, a PNG.

A thin command over ``engine.bench.scaling``: one run per noise scale of the largest K, every
smaller K read from it and priced as early exit spends (see that module). It runs in chunks of
``--chunk`` puzzles (views seeded by ``--seed`` and the chunk's index) and, with ``--out``,
rewrites the JSON report after every chunk, so that a long measurement keeps what it finished.
The puzzles' exact solutions come from the exact solver, so any puzzle file ``trm`` reads works.
``--json`` fields (``n_puzzles``: those measured so far):
``mode`` ("scaling"), ``data``, ``checkpoint``, ``device``, ``n_puzzles``, ``seconds`` (model time
per noise scale), ``one_trajectory_steps``, and ``rows``: list of ``{noise, k, rule, exact,
steps, ratio, max_steps}`` (``ratio``: steps over one trajectory with halting).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from trm_tui.errors import fail, input_errors


def scaling_command(
    file: Annotated[str, typer.Argument(help="Held-out puzzles (any format trm reads).")],
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Run dir or checkpoint (default as `trm solve`)."),
    ] = None,
    samples: Annotated[
        str, typer.Option("--samples", help="The Ks, comma-separated (the largest is run).")
    ] = "1,2,4,8,16,32",
    noise: Annotated[
        list[float] | None,
        typer.Option("--noise", help="Noise scales to run (repeatable; default 0: none)."),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Steps per sample at most (N_sup).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N puzzles of FILE.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the views and the noise.")] = 0,
    chunk: Annotated[
        int, typer.Option("--chunk", min=1, help="Puzzles per chunk (a partial result per chunk).")
    ] = 16,
    out: Annotated[
        Path | None, typer.Option("--out", help="Rewrite the JSON report here after each chunk.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows (puzzle-samples) per batch.")
    ] = 32,
    device_name: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, mps.")] = "auto",
    precision: Annotated[str, typer.Option("--precision", help="auto, fp32 or bf16.")] = "auto",
    png: Annotated[Path | None, typer.Option("--png", help="Also draw the curve here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="Where to look for the latest run.")
    ] = Path("runs"),
) -> None:
    """Exact accuracy vs supervision steps spent per puzzle, per K and selection rule."""
    ks = _ks(samples)
    scales = sorted(set(noise or [0.0]))
    if min(scales) < 0:
        fail(f"--noise: must be >= 0, got {min(scales)}")
    if png is not None:
        from trm_tui.plots import matplotlib_available

        if not matplotlib_available():
            fail("--png needs matplotlib (pip install 'trm[plots]')")
    import numpy as np

    from engine.bench.scaling import merge, outcomes, run_full
    from engine.device import describe, resolve_device
    from engine.evaluate import load_trained_model
    from engine.precision import precision_name, resolve_precision
    from puzzles.parse import read_puzzles
    from puzzles.solver import solve_batch
    from trm_tui.solve_cli import _checkpoint_for

    try:
        parsed = read_puzzles(file)  # an empty file included: "no puzzles found"
        device = resolve_device(device_name, "--device")
        dtype = resolve_precision(precision, device, "infer", "--precision")
        trained = load_trained_model(_checkpoint_for(checkpoint, runs_dir), device)
    except input_errors() as e:
        fail(str(e))
    puzzles = np.stack([p.grid for p in parsed[:limit]])
    exact = solve_batch(puzzles, limit=2)
    if (exact.n_solutions != 1).any():
        bad = int(np.flatnonzero(exact.n_solutions != 1)[0])
        fail(f"{parsed[bad].source}:{parsed[bad].line}: puzzle has no unique solution")
    found: dict = {}
    seconds = dict.fromkeys(map(str, scales), 0.0)
    for index, start in enumerate(range(0, len(puzzles), chunk)):
        part = slice(start, start + chunk)
        for scale in scales:
            started = time.perf_counter()
            full = run_full(
                trained.model,
                puzzles[part],
                max(ks),
                scale,
                seed=seed * 1_000_003 + index,  # every chunk its own views
                max_steps=max_steps,
                batch_size=batch_size,
                precision=precision_name(dtype),
            )
            seconds[str(scale)] += time.perf_counter() - started
            merge(found, outcomes(full, exact.solutions[part], scale, ks))
        report = _report(file, trained.path, describe(device, dtype), seconds, found)
        if out is not None:
            out.write_text(json.dumps(report) + "\n")
    if png is not None:
        from trm_tui.scaling_plot import write_scaling_png

        title = f"{Path(trained.path).name} on {Path(file).name} ({report['n_puzzles']} puzzles)"
        write_scaling_png(report["rows"], title, png)
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print(report)


def _report(
    file: str, checkpoint: Path, device: str, seconds: dict[str, float], found: dict
) -> dict[str, Any]:
    """The report of the puzzles measured so far."""
    from engine.bench.scaling import one_trajectory_steps, summarise

    rows = summarise(found)
    base = one_trajectory_steps(rows)
    first = next(iter(found.values()))[0]
    return {
        "mode": "scaling",
        "data": file,
        "checkpoint": str(checkpoint),
        "device": device,
        "n_puzzles": len(first),
        "seconds": seconds,
        "one_trajectory_steps": base,
        "rows": [{**vars(r), "ratio": None if not base else r.steps / base} for r in rows],
    }


def _ks(text: str) -> tuple[int, ...]:
    """``1,2,4`` as sorted distinct Ks; a clear exit 2 otherwise."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        fail(f"--samples: expected comma-separated counts like 1,2,4,8, got {text!r}")
    if not ks or ks[0] < 1:
        fail(f"--samples: every K must be >= 1, got {text!r}")
    return tuple(ks)


def _print(report: dict[str, Any]) -> None:
    table = Table("noise", "K", "select", "exact", "steps/puzzle", "x one", "max steps")
    for r in report["rows"]:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        table.add_row(f"{r['noise']:g}", str(r["k"]), r["rule"], f"{100 * r['exact']:.1f}%",
                      f"{r['steps']:.2f}", ratio, str(r["max_steps"]))  # fmt: skip
    console = Console()
    console.print(
        f"trm bench scaling · {report['data']} ({report['n_puzzles']} puzzles) · "
        f"{report['device']} · {report['checkpoint']}"
    )
    console.print(table)
