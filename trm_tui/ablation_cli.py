"""`trm bench ablation`: CGAR's ablation with error bars, a thin command over ``engine.ablation``.

Trains baseline, depth curriculum only, supervision weighting only and CGAR over several seeds
into ``OUT/runs/<variant>-seed<k>``, evaluates each at full depth, and writes ``OUT/results.json``,
``OUT/results.md`` and, with matplotlib, the PNG plots (``trm_tui.plots``). Progress goes to
stderr: which run, its step, and the ETA of the whole study. The first Ctrl-C stops the current
run after its step with a checkpoint; running the same command again resumes. Torch, numpy and
the engine are imported inside the command, so ``trm --help`` stays fast.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from trm_tui.errors import EXIT_FAILED, EXIT_INTERRUPTED, fail


def _duration(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _StudyProgress:
    """Shows the study on stderr: runs done, the current run's step, and the overall ETA.

    The ETA prices every remaining run by its network applications (``PlannedRun.cost_per_step``
    times its steps) at the seconds per application measured so far in this call.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
        )
        self.study = self.progress.add_task("study", total=1, info="")
        self.run = self.progress.add_task("steps", total=1, info="")
        self.pending: list[Any] = []  # PlannedRun still to train, in order
        self.total_steps = 0
        self.spent = 0.0  # seconds of the runs finished in this call
        self.spent_cost = 0.0  # their network applications
        self.current: Any = None
        self.started = 0.0
        self.step = 0
        self.run_eta: float | None = None

    def planned(self, runs: list[Any], modes: list[str]) -> None:
        """Remember which runs still need training."""
        self.pending = [run for run, mode in zip(runs, modes, strict=True) if mode != "skip"]
        from engine.ablation import estimate_s

        skipped = len(runs) - len(self.pending)
        self.progress.update(self.study, total=len(runs), completed=skipped)
        if skipped:
            self.console.print(f"{skipped} of {len(runs)} runs already done: not redone")
        estimates = [estimate_s(run) for run in self.pending]
        if self.pending and None not in estimates:
            self.console.print(
                f"{len(self.pending)} runs to train: about {_duration(sum(estimates))} at the pace "
                "measured on a 2-core AMD EPYC with bf16 (the ETA below follows this machine)"
            )

    def run_started(self, run: Any, index: int, n_runs: int, mode: str) -> None:
        """A new current run."""
        if mode == "skip":
            return
        self.current, self.started, self.step, self.run_eta = run, time.monotonic(), 0, None
        self.progress.update(self.study, description=f"run {index}/{n_runs} {run.name}")
        self.progress.update(self.run, completed=0, info=mode)
        self._refresh()

    def event(self, run: Any, event: dict[str, Any]) -> None:
        """Follow the current run's step and the trainer's depth-aware ETA."""
        if event["kind"] == "run_start":
            self.total_steps = int(event["total_steps"])
            self.step = int(event["step"])
            self.progress.update(self.run, total=self.total_steps)
        elif event["kind"] == "train":
            self.step = int(event["step"])
            self.run_eta = event.get("eta_s")
        elif event["kind"] == "stage" and event["stage"] > 1:
            depth = event["depth"]
            self.console.print(
                f"{run.name}: stage {event['stage']} (n={depth['n']}, T={depth['T']})"
            )
        self.progress.update(self.run, completed=self.step)
        self._refresh()

    def run_finished(self, run: Any, result: dict[str, Any]) -> None:
        """Count the run's time into the pace, and print its result."""
        self.spent += time.monotonic() - self.started
        self.spent_cost += run.cost_per_step * max(1, result["total_steps"])
        self.pending = [p for p in self.pending if p is not run]
        self.current = None
        self.progress.advance(self.study)
        self.console.print(
            f"{run.name}: exact {result['exact_accuracy']:.1%}, "
            f"cell {result['cell_accuracy']:.1%}, train {result['train_s']:.0f} s"
        )
        self._refresh()

    def _refresh(self) -> None:
        """Recompute the overall ETA."""
        pace = self.spent / self.spent_cost if self.spent_cost else None
        if pace is None and self.current is not None and self.step > 0:
            pace = (time.monotonic() - self.started) / (self.current.cost_per_step * self.step)
        if pace is None or not self.total_steps:
            self.progress.update(self.study, info="ETA -")
            return
        later = [p for p in self.pending if p is not self.current]
        remaining = sum(p.cost_per_step for p in later) * self.total_steps * pace
        if self.current is not None:
            left = self.total_steps - self.step
            remaining += self.run_eta if self.run_eta is not None else left * pace
        self.progress.update(self.study, info=f"ETA {_duration(remaining)}")

    def __enter__(self) -> _StudyProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _variants(raw: list[str] | None) -> list[str] | None:
    """``--variants a,b --variants c`` as a list, each name checked."""
    from engine.ablation_report import parse_variant
    from engine.config import ConfigError

    if not raw:
        return None
    names = [name.strip() for item in raw for name in item.split(",") if name.strip()]
    for name in names:
        try:
            parse_variant(name)
        except ConfigError as e:
            fail(f"--variants: {str(e).removeprefix('variant: ')}")
    return names


def ablation_command(
    preset_name: Annotated[
        str | None,
        typer.Option("--preset", help="tiny, cpu or paper (default: paper on CUDA, else cpu)."),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per variant.")] = 3,
    out: Annotated[
        Path | None, typer.Option("--out", help="Study folder (default ablation/<preset>).")
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: section.field=value.")
    ] = None,
    variants: Annotated[
        list[str] | None,
        typer.Option(
            "--variants",
            help="Some of baseline,depth,hsw,cgar (default: all four), each maybe with levers: "
            "cgar+muon, cgar+halt3, cgar+clues.",
        ),
    ] = None,
    scale: Annotated[
        str,
        typer.Option(
            "--scale",
            help="cpu preset: readme (the README's 625-step run; four variants x 3 seeds ~100 min) "
            "or quick (110 steps).",
        ),
    ] = "readme",
) -> None:
    """CGAR's ablation over seeds: train, evaluate, and write results.json, results.md and plots."""
    if seeds < 1:
        fail(f"--seeds: must be >= 1, got {seeds}")
    chosen = _variants(variants)
    import torch

    from engine.ablation import AblationError, ablation_config, run_ablation
    from engine.config import apply_overrides
    from engine.data import default_dataset_path
    from engine.stop import StopOnSignal
    from trm_tui.errors import input_errors
    from trm_tui.plots import matplotlib_available, write_plots

    errors = (*input_errors(), AblationError)
    name = preset_name or ("paper" if torch.cuda.is_available() else "cpu")
    try:
        base = apply_overrides(ablation_config(name, scale), sets or [])
    except errors as e:
        fail(str(e))
    folder = out or Path("ablation") / name
    console = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    if not base.data.path and not default_dataset_path(base.data).exists():
        count = base.data.n_train + base.data.n_test
        console.print(f"generating {count:,} puzzles into {default_dataset_path(base.data)} (once)")
    stop = StopOnSignal()
    try:
        with stop, _StudyProgress(console) as watcher:
            outcome = run_ablation(
                base, folder, chosen, seeds, watcher=watcher, stop=stop.requested
            )
    except errors as e:
        fail(str(e))
    except KeyboardInterrupt:
        console.print(f"interrupted; run the same command again to resume ({folder})")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if outcome.results["runs"]:
        console.print(f"results: {folder / 'results.json'}, {folder / 'results.md'}")
        if matplotlib_available():
            for path in write_plots(outcome.results, folder):
                console.print(f"plot: {path}")
        else:
            console.print("plots skipped: matplotlib is not installed (pip install 'trm[plots]')")
    if outcome.reason == "interrupted":
        console.print(f"{outcome.message}; run the same command again to resume")
        raise typer.Exit(stop.exit_code)
    if outcome.reason == "failed":
        fail(outcome.message, code=EXIT_FAILED)
    typer.echo((folder / "results.md").read_text(), nl=False)
