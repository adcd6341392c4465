"""`trm bench train|cgar|solve|solver|memory` (and `ablation`, `scaling`): measure speed, print a
table or JSON.

Every mode warms up, repeats (``--repeats``) and reports medians; ``--quick`` shrinks every size
for a smoke run (tests use ``--preset tiny --quick``). Timings on a shared machine are noisy:
the IQR columns say how noisy. Torch and the engine are imported inside the commands.

``--json`` prints one JSON object on stdout instead of the table. Fields common to every mode:
``mode``, ``preset``, ``device`` (e.g. ``"cpu (2 threads, fp32)"``), ``threads`` (torch CPU
threads), ``torch`` (version), ``repeats``, ``quick``. Then, per mode (times in seconds, memory
in bytes, MFU as a fraction):

- ``train`` (a sample is one row advanced one supervision step; the table's rows/s):
  ``batch_size``; ``peaks``: list of ``{dtype, size, flops_per_s, native, median_s,
  iqr_s}`` (matmul of ``size`` x ``size``; ``native`` false where bf16 is emulated); ``rows``: list
  of ``{n, T, precision, compiled, batch_size, samples_per_s, step_s, step_iqr_s, flops_per_step,
  flops_per_s, mfu_fp32, mfu_bf16}`` (MFU against each measured peak, null if not measured).
- ``cgar``: ``n_steps``, ``batch_size``, ``cgar_s``, ``fixed_s``, ``ratio`` (fixed_s / cgar_s),
  ``ideal_ratio`` (forward + backward FLOP count), ``ideal_forward_ratio``, ``gap``
  (ratio / ideal_ratio - 1), ``steps_per_stage``.
- ``solve``: ``checkpoint`` (null: an untrained model, whose halting never fires); ``rows``: list
  of ``{batch_size, halt, puzzles_per_s, batch_s, batch_iqr_s, mean_steps}``;
  ``batched_speedup`` (puzzles/s at the largest batch over batch 1, halting off);
  ``halt_time_saving`` and ``halt_step_saving`` (at the largest batch: time and mean steps without
  halting over with it; equal when halting saves time in proportion to steps).
- ``solver``: ``rows``: list of ``{set, n_puzzles, puzzles_per_s, mean_rating}``.
- ``memory``: ``method``, ``bytes_per_sample``, ``steps`` (``{batch_size, before, peak}`` at two
  batch sizes), ``growth`` (``{n_steps, after_n, after_2n, grows}``).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from trm_tui.ablation_cli import ablation_command
from trm_tui.errors import fail
from trm_tui.scaling_cli import scaling_command

app = typer.Typer(
    help="Measure training, CGAR, inference and solver speed, and memory.",
    no_args_is_help=True,
    add_completion=False,
)

Preset = Annotated[
    str | None,
    typer.Option("--preset", help="tiny, cpu or paper (default: paper on CUDA, else cpu)."),
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
Repeats = Annotated[int, typer.Option("--repeats", min=1, help="Timed repetitions (median).")]
Quick = Annotated[bool, typer.Option("--quick", help="Tiny sizes: a smoke run in seconds.")]
Sets = Annotated[
    list[str] | None, typer.Option("--set", help="Override a setting: section.field=value.")
]
BatchSize = Annotated[
    int | None,
    typer.Option("--batch-size", min=1, help="Rows per step (default: preset; CPU: smaller)."),
]


def _setup(preset_name: str | None, device_name: str, sets: list[str] | None) -> tuple[Any, Any]:
    """The configuration and device; bad names are one-line errors (exit 2)."""
    from engine.config import ConfigError, apply_overrides
    from engine.device import resolve_device
    from engine.presets import preset

    try:
        device = resolve_device(device_name)
        name = preset_name or ("paper" if device.type == "cuda" else "cpu")
        return apply_overrides(preset(name), sets or []), device
    except ConfigError as e:
        fail(str(e))


def _common(mode: str, cfg: Any, device: Any, dtype: Any, repeats: int, quick: bool) -> dict:
    """The fields every mode's JSON starts with."""
    from engine.bench.report import common
    from engine.device import describe

    return common(mode, cfg.preset, describe(device, dtype), repeats, quick)


def _emit(result: dict[str, Any], as_json: bool, table: Table) -> None:
    """The JSON object on stdout, or the table with a header line."""
    if as_json:
        typer.echo(json.dumps(result))
        return
    console = Console()
    console.print(f"trm bench {result['mode']} · preset {result['preset']} · {result['device']}")
    console.print(table)


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


@app.command("train")
def train_command(
    preset_name: Preset = None,
    device_name: Device = "auto",
    as_json: Json = False,
    repeats: Repeats = 3,
    quick: Quick = False,
    sets: Sets = None,
    batch_size: BatchSize = None,
    precision: Annotated[
        str, typer.Option("--precision", help="fp32, bf16, both, or auto (bf16 where native).")
    ] = "auto",
    compile_mode: Annotated[
        str, typer.Option("--compile", help="off, on, both, or auto (off on CPU, both on CUDA).")
    ] = "auto",
) -> None:
    """Training samples/s per curriculum depth, achieved FLOP/s and MFU."""
    cfg, device = _setup(preset_name, device_name, sets)
    from engine.bench.peak import matmul_peak
    from engine.bench.report import peak_dict, train_row_dict
    from engine.bench.rig import default_batch_size
    from engine.bench.train import bench_train, compile_choices, precision_choices

    try:
        precisions, compiles = (
            precision_choices(precision, device),
            compile_choices(compile_mode, device),
        )
    except ValueError as e:
        fail(str(e))
    batch = batch_size or default_batch_size(cfg, device)
    peaks = {
        dtype: matmul_peak(device, dtype, 256 if quick else None, repeats)
        for dtype in ("fp32", "bf16")
    }
    steps = 1 if device.type == "cpu" else 10  # GPU steps take milliseconds: time several
    rows = bench_train(cfg, device, precisions, compiles, batch, peaks, 1, repeats, steps)
    result = _common("train", cfg, device, None, repeats, quick)
    result |= {"batch_size": batch, "peaks": [peak_dict(p) for p in peaks.values()]}
    result["rows"] = [train_row_dict(r) for r in rows]
    # Against an emulated bf16 peak (a CPU without bf16 units) MFU is meaningless: JSON only.
    bf16_native = peaks["bf16"].native
    table = Table("n", "T", "dtype", "compile", "rows/s", "step s", "IQR s", "GFLOP/s", "MFU fp32",
                  "MFU bf16")  # fmt: skip
    for r in result["rows"]:
        table.add_row(str(r["n"]), str(r["T"]), r["precision"], "on" if r["compiled"] else "off",
                      _fmt(r["samples_per_s"], ".1f"), _fmt(r["step_s"]), _fmt(r["step_iqr_s"]),
                      _fmt(r["flops_per_s"] / 1e9, ".1f"), _fmt(r["mfu_fp32"], ".1%"),
                      _fmt(r["mfu_bf16"] if bf16_native else None, ".1%"))  # fmt: skip
    table.caption = "".join(
        f"{p['dtype']} peak {p['flops_per_s'] / 1e9:.1f} GFLOP/s ({p['size']}², "
        f"{'native' if p['native'] else 'emulated'}); "
        for p in result["peaks"]
    )
    table.caption = f"{table.caption}batch {batch}"
    _emit(result, as_json, table)


@app.command("cgar")
def cgar_command(
    preset_name: Preset = None,
    device_name: Device = "auto",
    as_json: Json = False,
    repeats: Repeats = 1,
    quick: Quick = False,
    sets: Sets = None,
    batch_size: BatchSize = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="Steps per schedule.")] = None,
    compile_mode: Annotated[str, typer.Option("--compile", help="off or on.")] = "off",
) -> None:
    """Wall-clock of the paper's depth schedule vs fixed full depth, and its FLOP-count ideal."""
    cfg, device = _setup(preset_name, device_name, sets)
    from engine.bench.cgar import bench_cgar
    from engine.bench.report import cgar_dict
    from engine.bench.rig import default_batch_size
    from engine.precision import resolve_precision

    if compile_mode not in ("off", "on"):
        fail(f"--compile: expected off or on, got {compile_mode!r}")
    dtype = resolve_precision(cfg.train.precision, device, "train", "train.precision")
    batch = batch_size or default_batch_size(cfg, device)
    n_steps = steps or (4 if quick else 10 if device.type == "cpu" else 200)
    runs = [
        bench_cgar(cfg, device, dtype, compile_mode == "on", batch, n_steps, 2 if quick else 4)
        for _ in range(repeats)
    ]
    best = sorted(runs, key=lambda r: r.ratio)[len(runs) // 2]  # the median run
    result = _common("cgar", cfg, device, dtype, repeats, quick) | cgar_dict(best)
    table = Table("steps", "batch", "CGAR s", "fixed s", "ratio", "ideal (fwd+bwd)", "ideal (fwd)",
                  "gap")  # fmt: skip
    table.add_row(str(best.n_steps), str(best.batch_size), f"{best.cgar_s:.2f}",
                  f"{best.fixed_s:.2f}", f"{best.ratio:.3f}", f"{best.ideal_ratio:.3f}",
                  f"{best.ideal_forward_ratio:.3f}", f"{best.gap:+.1%}")  # fmt: skip
    _emit(result, as_json, table)


@app.command("solve")
def solve_command(
    preset_name: Preset = None,
    device_name: Device = "auto",
    as_json: Json = False,
    repeats: Repeats = 3,
    quick: Quick = False,
    sets: Sets = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Run dir or checkpoint (default: untrained model)."),
    ] = None,
    batch_sizes: Annotated[
        list[int] | None, typer.Option("--batch-size", min=1, help="Batch sizes (repeatable).")
    ] = None,
) -> None:
    """Puzzles/s of batched inference at full depth, halting on and off, per batch size."""
    cfg, device = _setup(preset_name, device_name, sets)
    import torch

    from engine.bench.report import solve_summary
    from engine.bench.solve import bench_solve, default_batch_sizes
    from engine.model import TRM
    from engine.precision import resolve_precision

    if checkpoint is not None:
        from engine.evaluate import load_trained_model
        from trm_tui.errors import input_errors

        try:
            trained = load_trained_model(checkpoint, device)
        except input_errors() as e:
            fail(str(e))
        model, cfg = trained.model, trained.config
    else:
        torch.manual_seed(cfg.train.seed)
        model = TRM(cfg.model).to(device)
    dtype = resolve_precision(cfg.train.precision, device, "infer", "train.precision")
    sizes = sorted(set(batch_sizes or ([1, 4] if quick else default_batch_sizes(model, device))))
    measured = bench_solve(model, device, sizes, repeats=repeats, precision=cfg.train.precision)
    result = _common("solve", cfg, device, dtype, repeats, quick)
    result["checkpoint"] = None if checkpoint is None else str(checkpoint)
    result |= solve_summary(measured)
    rows = result["rows"]
    table = Table("batch", "halt", "puzzles/s", "batch s", "IQR s", "steps/puzzle")
    for r in rows:
        table.add_row(str(r["batch_size"]), "on" if r["halt"] else "off",
                      _fmt(r["puzzles_per_s"], ".1f"), _fmt(r["batch_s"]),
                      _fmt(r["batch_iqr_s"]), f"{r['mean_steps']:.2f}")  # fmt: skip
    table.caption = (
        f"batched x{_fmt(result['batched_speedup'], '.1f')} vs batch 1; halting: time "
        f"x{_fmt(result['halt_time_saving'], '.2f')}, "
        f"steps x{_fmt(result['halt_step_saving'], '.2f')}"
        + ("" if checkpoint else "; untrained model: halting never fires")
    )
    _emit(result, as_json, table)


@app.command("solver")
def solver_command(as_json: Json = False, repeats: Repeats = 3, quick: Quick = False) -> None:
    """The exact solver's puzzles/s on the bundled sample sets (one core)."""
    from engine.bench.report import solver_row_dict
    from engine.bench.solver import bench_solver

    rows = [solver_row_dict(r) for r in bench_solver(repeat=1 if quick else repeats)]
    result = {
        "mode": "solver",
        "preset": "-",
        "device": "cpu (numba, one core)",
        "threads": 1,
        "torch": version("torch"),  # the solver does not use torch; the field is common
        "repeats": repeats,
        "quick": quick,
        "rows": rows,
    }
    table = Table("set", "puzzles", "puzzles/s", "µs/puzzle", "mean rating")
    for r in rows:
        table.add_row(r["set"], str(r["n_puzzles"]), f"{r['puzzles_per_s']:.0f}",
                      f"{1e6 / r['puzzles_per_s']:.1f}", f"{r['mean_rating']:.2f}")  # fmt: skip
    table.caption = "best of repeats, after compilation, uniqueness check (limit 2)"
    _emit(result, as_json, table)


@app.command("memory")
def memory_command(
    preset_name: Preset = None,
    device_name: Device = "auto",
    as_json: Json = False,
    quick: Quick = False,
    sets: Sets = None,
    batch_size: BatchSize = None,
) -> None:
    """Peak memory per sample of a full-depth step, and whether memory grows with steps."""
    cfg, device = _setup(preset_name, device_name, sets)
    from engine.bench.memory import growth, peak_memory
    from engine.bench.report import memory_dict
    from engine.bench.rig import Rig, default_batch_size
    from engine.precision import resolve_precision

    dtype = resolve_precision(cfg.train.precision, device, "train", "train.precision")
    batch = batch_size or (2 if quick else max(2, default_batch_size(cfg, device) // 2))
    peak = peak_memory(cfg.preset, sets or [], device, (batch // 2 or 1, batch))
    grew = growth(Rig(cfg, device, dtype, False, batch), 2 if quick else 10)
    result = _common("memory", cfg, device, dtype, 1, quick) | memory_dict(peak, grew)
    table = Table("batch", "before MiB", "peak MiB")
    for s in result["steps"]:
        table.add_row(
            str(s["batch_size"]), f"{s['before'] / 2**20:.1f}", f"{s['peak'] / 2**20:.1f}"
        )
    g = result["growth"]
    table.caption = (
        f"{peak.bytes_per_sample / 2**20:.2f} MiB per sample ({peak.method}); after {g['n_steps']} "
        f"/ {2 * g['n_steps']} more steps: {g['after_n'] / 2**20:.1f} / {g['after_2n'] / 2**20:.1f}"
        f" MiB ({'GROWS' if g['grows'] else 'flat'})"
    )
    _emit(result, as_json, table)


app.command("ablation")(ablation_command)
app.command("scaling")(scaling_command)
