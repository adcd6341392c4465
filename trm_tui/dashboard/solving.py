"""The solve view's work, run in a thread worker: load a checkpoint, trace the model's
supervision steps on one puzzle (``engine.inference.solve``) and find the exact solution for
the verdict. Torch and the engine are imported here only, inside the functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trm_tui.dashboard.runs import is_run_dir


@dataclass(frozen=True)
class SolveTrace:
    """One puzzle solved by the model, step by step, with what the board needs."""

    result: Any  # engine.inference.SolveResult with one row
    solution: np.ndarray | None  # (81,) the exact solver's answer, None when it has none
    checkpoint: Path  # the checkpoint file the model came from
    step: int  # the training step it was saved at
    device: str = ""  # where and in what precision it ran, e.g. "cpu (2 threads, bf16)"


def find_checkpoint(preferred: Path | None, root: Path) -> Path | None:
    """``preferred`` (a run dir or checkpoint) if it holds a checkpoint yet, else the newest run's
    best checkpoint, else the model shipped inside the package (as `trm solve` chooses)."""
    from engine.run_dir import RunPaths
    from trm_tui.solve_cli import default_checkpoint

    if preferred is not None and not is_run_dir(preferred):
        return preferred  # a checkpoint file
    for run in (preferred, root):
        if run is not None and is_run_dir(run) and RunPaths(run).trained() is not None:
            return run
    return default_checkpoint(root)


@dataclass
class ModelCache:
    """Keeps the last loaded model so stepping through puzzles does not reload it."""

    loaded: dict[Path, Any] = field(default_factory=dict)

    def get(self, target: Path) -> Any:
        """The TrainedModel of ``target`` (a run dir or a checkpoint file) on the CPU/GPU."""
        key = target.resolve()
        if key not in self.loaded:
            from engine.device import resolve_device
            from engine.evaluate import load_trained_model

            self.loaded = {key: load_trained_model(target, resolve_device("auto"))}
        return self.loaded[key]


def trace_puzzle(cache: ModelCache, target: Path, puzzle: np.ndarray) -> SolveTrace:
    """Run the model on ``puzzle`` (81,) with every supervision step kept, in the precision
    `trm solve` uses by default (``engine.precision``'s rule for inference)."""
    from engine.device import describe
    from engine.inference import solve
    from engine.precision import resolve_precision
    from puzzles.solver import solve as exact_solve

    trained = cache.get(target)
    result = solve(trained.model, puzzle[None, :].astype(np.uint8), halt=True, keep_steps=True)
    exact = exact_solve(puzzle, limit=1)
    device = trained.model.y_init.device
    where = describe(device, resolve_precision("auto", device, "infer"))
    return SolveTrace(result, exact.solution, trained.path, trained.step, where)
