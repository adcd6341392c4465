"""`trm train`: a thin command over ``engine.trainer`` (`trm eval` lives in ``eval_cli``).

Torch and the engine are imported inside the command functions, so ``trm --help`` stays fast.
Exit codes follow DESIGN.md: 0 finished, 1 the run failed, 2 bad input, 130 interrupted, 143
terminated. Everything a start needs (configuration, data, device, precision, model size, the
checkpoint to resume) is checked before the run directory is created or written to, and before
anything is drawn, so a failed start is one line and leaves nothing behind. The first Ctrl-C
(or SIGTERM, as ``timeout``, ``docker stop``, Kubernetes and SLURM send) asks the trainer to
stop after the current step and save a checkpoint; a second one interrupts at once.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from trm_tui.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    check_data_path,
    fail,
    input_errors,
)

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.session import Session
    from engine.stop import StopOnSignal
    from engine.trainer import TrainSummary


def _build_config(
    preset_name: str | None, cgar: bool, depth: bool, hsw: bool, data: str | None, sets: list[str]
) -> Any:
    """The run configuration from the preset, CGAR switches, --data and --set overrides."""
    import torch

    from engine.config import apply_overrides
    from engine.presets import preset, with_cgar

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
    from engine import distributed as dist
    from engine.run_dir import default_name, open_for_resume
    from engine.trainer import claimed_session

    if resume is not None and (
        cgar or depth_curriculum or hsw or preset_name or data or sets or run_dir
    ):
        fail("--resume continues a run with its saved configuration; give no other options")
    world = dist.world_from_env()
    console = Console()
    with ExitStack() as held:
        try:
            if resume is not None:
                root, cfg = resume, open_for_resume(resume)[1]
            else:
                cfg = _build_config(preset_name, cgar, depth_curriculum, hsw, data, sets or [])
                if run_dir is None and world.is_distributed:
                    fail("--run-dir is required with several processes (WORLD_SIZE > 1)")
                root = run_dir or Path("runs") / default_name(cfg)
            if world.is_main:
                _announce_generation(console, cfg)
            run = held.enter_context(claimed_session(cfg, root, resume is not None, world))
        except input_errors() as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail("interrupted before training started", code=EXIT_INTERRUPTED)
        summary, stop = _train(run, console)
    if summary.reason == "interrupted":
        raise typer.Exit(stop.exit_code)
    if summary.reason == "failed":
        fail(summary.message, code=EXIT_FAILED)


def _announce_generation(console: Console, cfg: RunConfig) -> None:
    """Say so when the default dataset is about to be generated (it takes a while, once)."""
    from engine.data import default_dataset_path

    cache = default_dataset_path(cfg.data)
    if not cfg.data.path and not cache.exists():
        count = cfg.data.n_train + cfg.data.n_test
        console.print(f"generating {count:,} puzzles into {cache} (once)")


def _train(run: Session, console: Console) -> tuple[TrainSummary, StopOnSignal]:
    """Train a built session with the live display; Ctrl-C and SIGTERM stop it cleanly."""
    from engine.events import EventSink, Fanout
    from engine.trainer import run_session
    from trm_tui.progress import TrainDisplay

    display = TrainDisplay(console, str(run.paths.root))
    sink = Fanout(EventSink(run.paths.events), display.handle) if run.world.is_main else None
    from engine.stop import StopOnSignal

    stop = StopOnSignal()
    try:
        with stop, display:
            summary = run_session(run, sink, stop=stop.requested)
    finally:
        if sink is not None:
            sink.close()
    return summary, stop
