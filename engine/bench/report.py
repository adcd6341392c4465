"""Benchmark results as plain JSON-able dicts: the fields ``trm bench --json`` prints.

Field names and units are documented in ``trm_tui/bench_cli.py``'s module docstring; times are
seconds, throughputs per second, memory in bytes, MFU a fraction (0.25 = 25 %).
"""

from __future__ import annotations

from typing import Any

from engine.bench.cgar import CgarBench
from engine.bench.memory import Growth, PeakMemory
from engine.bench.peak import Peak
from engine.bench.solve import SolveRow
from engine.bench.train import TrainRow
from puzzles.bench_solver import Row


def peak_dict(peak: Peak) -> dict[str, Any]:
    """A matmul peak."""
    return {
        "dtype": peak.dtype,
        "size": peak.size,
        "flops_per_s": peak.flops_per_s,
        "native": peak.native,
        "median_s": peak.timing.median_s,
        "iqr_s": peak.timing.iqr_s,
    }


def train_row_dict(row: TrainRow) -> dict[str, Any]:
    """One depth x precision x compile measurement."""
    return {
        "n": row.n,
        "T": row.T,
        "precision": row.precision,
        "compiled": row.compiled,
        "batch_size": row.batch_size,
        "samples_per_s": row.samples_per_s,
        "step_s": row.timing.median_s,
        "step_iqr_s": row.timing.iqr_s,
        "flops_per_step": row.flops_per_step,
        "flops_per_s": row.flops_per_s,
        "mfu_fp32": row.mfu_fp32,
        "mfu_bf16": row.mfu_bf16,
    }


def cgar_dict(result: CgarBench) -> dict[str, Any]:
    """The CGAR vs fixed-depth comparison."""
    return {
        "n_steps": result.n_steps,
        "batch_size": result.batch_size,
        "cgar_s": result.cgar_s,
        "fixed_s": result.fixed_s,
        "ratio": result.ratio,
        "ideal_ratio": result.ideal_ratio,
        "ideal_forward_ratio": result.ideal_forward_ratio,
        "gap": result.gap,
        "steps_per_stage": list(result.steps_per_stage),
    }


def solve_row_dict(row: SolveRow) -> dict[str, Any]:
    """One batch size with halting on or off."""
    return {
        "batch_size": row.batch_size,
        "halt": row.halt,
        "puzzles_per_s": row.puzzles_per_s,
        "batch_s": row.timing.median_s,
        "batch_iqr_s": row.timing.iqr_s,
        "mean_steps": row.mean_steps,
    }


def solver_row_dict(row: Row) -> dict[str, Any]:
    """The exact solver on one sample set."""
    return {
        "set": row.name,
        "n_puzzles": row.n_puzzles,
        "puzzles_per_s": row.per_second,
        "mean_rating": row.mean_rating,
    }


def memory_dict(peak: PeakMemory, growth: Growth) -> dict[str, Any]:
    """Peak memory per sample and the growth check."""
    return {
        "method": peak.method,
        "bytes_per_sample": peak.bytes_per_sample,
        "steps": [
            {"batch_size": s.batch_size, "before": s.before, "peak": s.peak}
            for s in (peak.small, peak.large)
        ],
        "growth": {
            "n_steps": growth.n_steps,
            "after_n": growth.after_n,
            "after_2n": growth.after_2n,
            "grows": growth.grows,
        },
    }


def common(mode: str, preset: str, device: str, repeats: int, quick: bool) -> dict[str, Any]:
    """The fields every mode's JSON starts with."""
    import torch

    return {
        "mode": mode,
        "preset": preset,
        "device": device,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "repeats": repeats,
        "quick": quick,
    }


def solve_summary(rows: list[SolveRow]) -> dict[str, Any]:
    """Rows plus the batched speed-up over batch 1 and halting's time and step savings."""
    by = {(r.batch_size, r.halt): r for r in rows}
    largest = max(r.batch_size for r in rows)
    speedup = None
    if (1, False) in by and (largest, False) in by:
        speedup = by[largest, False].puzzles_per_s / by[1, False].puzzles_per_s
    time_saving = step_saving = None
    if (largest, False) in by and (largest, True) in by:
        off, on = by[largest, False], by[largest, True]
        time_saving = off.timing.median_s / on.timing.median_s
        step_saving = off.mean_steps / on.mean_steps
    return {
        "rows": [solve_row_dict(r) for r in rows],
        "batched_speedup": speedup,
        "halt_time_saving": time_saving,
        "halt_step_saving": step_saving,
    }
