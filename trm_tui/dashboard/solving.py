"""The solve view's work, run in a thread worker: load a checkpoint, solve one puzzle as ``K``
samples with every supervision step kept (``engine.solving.sampling``, as `trm solve` does) and
find the exact solution for the verdict. Torch and the engine are imported here only, inside the
functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trm_tui.dashboard.runs import is_run_dir


@dataclass(frozen=True)
class SampleLine:
    """One sample of the puzzle: its steps, and whether its answer obeys the rules."""

    result: Any  # engine.solving.inference.SolveResult, one row, in the puzzle's cells and digits
    valid: bool


@dataclass(frozen=True)
class SolveTrace:
    """One puzzle solved by the model, step by step, with what the board needs."""

    result: Any  # the selected sample's SolveResult (one row)
    solution: np.ndarray | None  # (81,) the exact solver's answer, None when it has none
    checkpoint: Path  # the checkpoint file the model came from
    step: int  # the training step it was saved at
    device: str = ""  # where and in what precision it ran, e.g. "cpu (2 threads, bf16)"
    samples: tuple[SampleLine, ...] = ()  # every sample in order; empty: ``result`` alone
    selected: int = 0  # the selected sample's index
    rule: str = "halt-first"  # the selection rule
    steps_spent: int = 0  # supervision steps spent on the puzzle, summed over its samples

    @property
    def n_samples(self) -> int:
        """How many samples the puzzle was solved as."""
        return max(1, len(self.samples))

    def sample(self, index: int) -> Any:
        """The SolveResult of sample ``index``."""
        return self.samples[index].result if self.samples else self.result


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


def trace_puzzle(
    cache: ModelCache, target: Path, puzzle: np.ndarray, k: int | None = None
) -> SolveTrace:
    """Run the model on ``puzzle`` (81,) as ``k`` samples (default: `trm solve`'s), every
    supervision step kept, selected as `trm solve` selects, in the precision `trm solve` uses by
    default (``engine.precision``'s rule for inference)."""
    from engine.device import describe
    from engine.precision import resolve_precision
    from engine.solving import DEFAULT_SAMPLES
    from engine.solving.sampling import solve_samples
    from engine.solving.selection import HALT_FIRST, VALID
    from puzzles.solver import solve as exact_solve

    k = DEFAULT_SAMPLES if k is None else k
    trained = cache.get(target)
    rule = VALID if k > 1 else HALT_FIRST
    sampled = solve_samples(
        trained.model,
        puzzle[None, :].astype(np.uint8),
        k,
        np.random.default_rng(0),
        rule=rule,
        keep_steps=True,
    )
    samples = tuple(
        SampleLine(sampled.sample_trace(0, j), bool(sampled.valid[0, j])) for j in range(k)
    )
    chosen = int(sampled.selected[0])
    exact = exact_solve(puzzle, limit=1)
    device = trained.model.y_init.device
    where = describe(device, resolve_precision("auto", device, "infer"))
    return SolveTrace(
        samples[chosen].result,
        exact.solution,
        trained.path,
        trained.step,
        samples=samples,
        selected=chosen,
        rule=rule,
        steps_spent=int(sampled.steps_spent[0]),
        device=where,
    )
