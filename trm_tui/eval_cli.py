"""`trm eval`: exact, cell and halting accuracy of a trained model, overall or by difficulty band.

A thin command over ``engine.evaluate``; torch and the engine are imported inside the function so
``trm --help`` stays fast. ``--by clues`` and/or ``--by rating`` also report each difficulty
band of ``puzzles.bands`` (ratings the data does not carry are computed by the exact solver),
from one evaluation of the whole set; that is how the shipped model's accuracy by difficulty is
reported.

Beside the reference evaluation (all ``N_sup`` steps, one trajectory), every puzzle is also solved
as ``trm solve`` solves it (``--samples K``, ``--select``, ``--noise``, ``--max-steps``;
``engine.solving.scoring``): ``exact, sampled`` is the selected answers' exact accuracy and
``steps`` the mean supervision steps spent per puzzle, summed over its samples.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from trm_tui.errors import check_data_path, fail, input_errors

_METRICS = {  # report key -> table header
    "n_puzzles": "puzzles",
    "exact_accuracy": "exact",
    "cell_accuracy": "cells",
    "halt_accuracy": "halt acc",
    "avg_halt_step": "halt step",
    "halt_exact_accuracy": "exact, halted",
    "sampled_exact": "exact, sampled",
    "steps_spent": "steps",
}


class BandBy(str, Enum):
    """What ``--by`` groups puzzles by."""

    clues = "clues"
    rating = "rating"


def eval_command(
    target: Annotated[Path, typer.Argument(help="A run directory or a checkpoint file.")],
    data: Annotated[
        str | None,
        typer.Option("--data", help="Puzzles to evaluate on (default: the run's test split)."),
    ] = None,
    by: Annotated[
        list[BandBy] | None,
        typer.Option(
            "--by", help="Also report each difficulty band: clues or rating (may be repeated)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Puzzles per batch.")] = 256,
    samples: Annotated[
        int | None,
        typer.Option("--samples", help="K samples per puzzle, as `trm solve` (default: its K)."),
    ] = None,
    select: Annotated[
        str | None,
        typer.Option("--select", help="halt-first, valid or vote (default as `trm solve`)."),
    ] = None,
    noise: Annotated[
        float, typer.Option("--noise", help="SIGMA: Gaussian noise on z for samples 2..K.")
    ] = 0.0,
    max_steps: Annotated[
        int | None,
        typer.Option("--max-steps", help="Supervision steps per sample at most (default N_sup)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the views and the noise.")] = 0,
    device_name: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, mps.")] = "auto",
    precision: Annotated[
        str, typer.Option("--precision", help="auto (bf16 where native), fp32 or bf16.")
    ] = "auto",
) -> None:
    """Exact, cell and halting accuracy of a trained model, its average halting step, and the
    exact accuracy and steps spent of sampled solving."""
    from trm_tui.solve_cli import _default_k, check_sampling

    if not target.exists():
        fail(f"{target}: no such run directory or checkpoint")
    k = _default_k() if samples is None else samples
    for name, value in (("batch-size", batch_size), ("samples", k), ("max-steps", max_steps)):
        if value is not None and value < 1:
            fail(f"--{name}: must be >= 1, got {value}")
    rule = check_sampling(k, select, noise)
    import numpy as np

    from engine.data import load_data
    from engine.device import describe, resolve_device
    from engine.evaluate import evaluate_rows, load_trained_model, summarize
    from engine.precision import precision_name, resolve_precision
    from engine.solving.scoring import SAMPLED_FIELDS, sampled_rows
    from puzzles.bands import clue_bands, rating_bands
    from puzzles.dataset import load_dataset

    ratings = None
    try:
        device = resolve_device(device_name, "--device")
        dtype = resolve_precision(precision, device, "infer", "--precision")
        trained = load_trained_model(target, device)
        if data is not None:
            check_data_path(data)
            splits = load_dataset(data)
            chosen = splits.test if splits.test is not None else splits.train
            questions, answers, source = chosen.questions, chosen.answers, data
            ratings = chosen.ratings
            if not answers.all(axis=1).all():
                fail(f"{data}: some puzzles have no answer (add them with `trm data label`)")
        else:
            loaded = load_data(trained.config.data)
            questions, answers, source = loaded.test_questions, loaded.test_answers, loaded.source
    except input_errors() as e:
        fail(str(e))
    outcomes = evaluate_rows(trained.model, questions, answers, batch_size, precision_name(dtype))
    sampled = sampled_rows(
        trained.model,
        questions,
        answers,
        k,
        rule,
        noise=noise,
        seed=seed,
        max_steps=max_steps,
        batch_size=batch_size,
        precision=precision_name(dtype),
    )

    def measure(rows: Any) -> dict[str, Any]:
        result = summarize(outcomes[rows])
        means = sampled[rows].mean(axis=0) if len(sampled[rows]) else np.zeros(2)
        extra = dict(zip(SAMPLED_FIELDS, (float(m) for m in means), strict=True))
        return {key: extra[key] if key in extra else getattr(result, key) for key in _METRICS}

    report: dict[str, Any] = {
        "checkpoint": str(trained.path),
        "step": trained.step,
        "data": source,
        "precision": precision_name(dtype),
        "device": describe(device, dtype),
        "samples": k,
        "select": rule,
        "noise": noise,
        "max_steps": max_steps,
        **measure(slice(None)),
    }
    groupings = list(dict.fromkeys(by or []))
    if groupings:
        report["by"] = groupings[0].value if len(groupings) == 1 else [g.value for g in groupings]
        report["bands"] = []
    for grouping in groupings:
        if grouping is BandBy.clues:
            bands = clue_bands(questions)
        else:
            if ratings is None or (ratings < 0).any():
                from puzzles.solver import rate

                ratings = rate(questions)
            bands = rating_bands(np.asarray(ratings))
        report["bands"] += [
            {"by": grouping.value, "band": b.label, **measure(b.indices)} for b in bands
        ]
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    """One table: the whole set, then a row per band (``exact, halted``: answers taken at the step
    where the halting head first fires, as ``trm solve --halt`` gives them)."""
    noise = f", noise {report['noise']:g}" if report["noise"] else ""
    title = (
        f"{report['checkpoint']} (step {report['step']}) on {report['data']} · sampled: "
        f"{report['samples']} x {report['select']}{noise} · {report['device']}"
    )
    table = Table(title=title)
    by = report.get("by", "")
    table.add_column(by if isinstance(by, str) else " / ".join(by), no_wrap=True)
    for header in _METRICS.values():
        table.add_column(header, justify="right")

    def cells(row: dict[str, Any]) -> list[str]:
        return [f"{row[k]:.4f}" if isinstance(row[k], float) else str(row[k]) for k in _METRICS]

    table.add_row("all", *cells(report), end_section=True)
    bands = report.get("bands", [])
    for i, band in enumerate(bands):
        last_of_grouping = i + 1 < len(bands) and bands[i + 1]["by"] != band["by"]
        table.add_row(band["band"], *cells(band), end_section=last_of_grouping)
    Console().print(table)
