"""`trm train`: a thin command over ``engine.trainer`` (`trm eval` lives in ``eval_cli``).

Torch and the engine are imported inside the command functions, so ``trm --help`` stays fast.
Exit codes follow DESIGN.md: 0 finished, 1 the run failed, 2 bad input, 130 interrupted. The
first Ctrl-C asks the trainer to stop after the current step and save a checkpoint; a second
one interrupts at once.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from trm_tui.errors import EXIT_FAILED, EXIT_INTERRUPTED, check_data_path, fail, input_errors


def _build_config(
    preset_name: str | None, cgar: bool, depth: bool, hsw: bool, data: str | None, sets: list[str]
) -> Any:
    """The run configuration from the preset, CGAR switches, --data and --set overrides."""
    import torch

    from engine.config import apply_overrides, preset, with_cgar

    cfg = preset(preset_name or ("paper" if torch.cuda.is_available() else "cpu"))
    if cgar or depth or hsw:
        cfg = with_cgar(cfg, depth=cgar or depth, hsw=cgar or hsw)
    if data is not None:
        check_data_path(data)
        cfg = apply_overrides(cfg, [f"data.path={data}"])
    return apply_overrides(cfg, sets)


def train_command(
    cgar: Annotated[bool, typer.Option("--cgar", help="CGAR: depth curriculum and HSW.")] = False,
    depth_curriculum: Annotated[
        bool, typer.Option("--depth-curriculum", help="Progressive depth curriculum only.")
    ] = False,
    hsw: Annotated[
        bool, typer.Option("--hsw", help="Hierarchical supervision weights only.")
    ] = False,
    preset_name: Annotated[
        str | None,
        typer.Option("--preset", help="tiny, cpu or paper (default: paper on CUDA, else cpu)."),
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", help="CSV, 'train.csv,test.csv' or a reference folder.")
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--run-dir", help="Where to write (default runs/<preset>-<kind>-<time>)."),
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: section.field=value.")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Continue the run in this directory.")
    ] = None,
) -> None:
    """Train a TRM on Sudoku; writes a run directory and shows live progress."""
    from engine.data import default_dataset_path
    from engine.events import EventSink, Fanout
    from engine.run_dir import create_run_dir, default_name, open_for_resume
    from engine.trainer import train
    from trm_tui.progress import TrainDisplay

    errors = input_errors()
    is_main = int(os.environ.get("RANK", "0")) == 0
    try:
        if resume is not None:
            if cgar or depth_curriculum or hsw or preset_name or data or sets or run_dir:
                fail("--resume continues a run with its saved configuration; give no other options")
            root = resume
            cfg = open_for_resume(resume)[1]
        else:
            cfg = _build_config(preset_name, cgar, depth_curriculum, hsw, data, sets or [])
            if run_dir is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
                fail("--run-dir is required with several processes (WORLD_SIZE > 1)")
            root = run_dir or Path("runs") / default_name(cfg)
            if is_main:
                create_run_dir(root, cfg)
    except errors as e:
        fail(str(e))
    console = Console()
    cache = default_dataset_path(cfg.data)
    if not cfg.data.path and not cache.exists():
        count = cfg.data.n_train + cfg.data.n_test
        console.print(f"generating {count:,} puzzles into {cache} (once)")
    display = TrainDisplay(console, str(root))
    sink = Fanout(EventSink(root / "events.jsonl"), display.handle) if is_main else None
    stop = StopOnSigint()
    try:
        with stop, display:
            summary = train(cfg, root, sink, resume=resume is not None, stop=stop.requested)
    except errors as e:
        fail(str(e))
    finally:
        if sink is not None:
            sink.close()
    if summary.reason == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.reason == "failed":
        fail(summary.message, code=EXIT_FAILED)


class StopOnSigint:
    """While active, the first Ctrl-C asks for a stop after this step; a second one interrupts."""

    def __init__(self) -> None:
        self.stop = False
        self.previous: Any = None

    def requested(self) -> bool:
        """Whether Ctrl-C was pressed (polled by the trainer after every step)."""
        return self.stop

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.stop = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self) -> StopOnSigint:
        try:
            self.previous = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:
            self.previous = None  # not the main thread: Ctrl-C raises KeyboardInterrupt as usual
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
