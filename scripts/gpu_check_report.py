"""Collect ``scripts/gpu-check.sh``'s outputs into one JSON object on stdout.

    python scripts/gpu_check_report.py OUT_DIR

Reads ``steps.jsonl`` (each step's exit status and seconds), ``env.out``, the two bench JSONs
and the training run's ``events.jsonl``: its device, compile choice and first-step seconds, the
median ``samples_per_s`` and seconds per step of its ``train`` events after the first, the last
event's training accuracy, and what a whole run of ``total_steps`` would take: at that rate (the
depth the short run reached), and from the bench's bf16 compiled step time of each CGAR stage.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _events(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return events
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def full_run_hours(start: dict[str, Any], bench: Any) -> float | None:
    """A whole run of the paper recipe at the bench's bf16, compiled step times of each stage."""
    cfg = start.get("config", {})
    stages = cfg.get("curriculum", {}).get("stages") or []
    total = start.get("total_steps")
    if not total or not isinstance(bench, dict) or not stages:
        return None
    rows = {
        (r["n"], r["T"]): r["step_s"]
        for r in bench.get("rows", [])
        if r.get("precision") == "bf16" and r.get("compiled")
    }
    seconds, begun = 0.0, 0.0
    for stage in stages:
        step_s = rows.get((stage["n"], stage["T"]))
        if step_s is None:
            return None
        seconds += (stage["until_rho"] - begun) * total * step_s
        begun = stage["until_rho"]
    return seconds / 3600


def training(run: Path, bench: Any) -> dict[str, Any]:
    """The short paper-preset run's figures from its event stream."""
    events = _events(run / "events.jsonl")
    start = next((e for e in events if e.get("kind") == "run_start"), {})
    trains = [e for e in events if e.get("kind") == "train"]
    compiled = next((e for e in events if e.get("kind") == "compile"), {})
    rates = [e["samples_per_s"] for e in trains[1:] if e.get("samples_per_s")]
    batch = start.get("config", {}).get("train", {}).get("batch_size")
    rate = statistics.median(rates) if rates else None
    step_s = batch / rate if rate and batch else None
    total = start.get("total_steps")
    return {
        "device": start.get("device"),
        "compile": start.get("compile"),
        "compile_first_step_s": compiled.get("seconds"),
        "steps_done": trains[-1]["step"] if trains else 0,
        "depth_reached": trains[-1].get("depth") if trains else None,
        "samples_per_s": rate,
        "step_s": step_s,
        "total_steps": total,
        "full_run_hours_at_this_rate": step_s * total / 3600 if step_s and total else None,
        "full_cgar_run_hours_from_bench": full_run_hours(start, bench),
        "last_train_event": trains[-1] if trains else None,
        "run_end": next((e for e in events if e.get("kind") == "run_end"), None),
    }


def main() -> None:
    out = Path(sys.argv[1])
    bench = _json(out / "bench_train.out")
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines() if line]
    report = {
        "steps": steps,
        "env": (out / "env.out").read_text().strip() if (out / "env.out").exists() else None,
        "tests_tail": (out / "tests.out").read_text()[-600:]
        if (out / "tests.out").exists()
        else None,
        "bench_train": bench,
        "bench_cgar": _json(out / "bench_cgar.out"),
        "train": training(out / "run", bench),
    }
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
