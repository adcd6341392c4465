"""Paired speed comparison of two checkouts: one ``trm bench`` command, alternating between them.

    python scripts/paired_bench.py BASE_TREE --rounds 3 -- train --preset cpu --batch-size 64

runs ``trm bench <args> --json`` in BASE_TREE and in this checkout in turn, ``rounds`` times
(base first, then this tree, then base again...), so a change in machine load hits both sides
alike, and prints each configuration's median throughput on both sides and their ratio. Rows are
matched by their configuration fields (depth, precision, compile, ...); the throughput field is
``samples_per_s`` (train) or ``puzzles_per_s`` (solve). ``--out FILE`` also writes every
round's JSON. BASE_TREE is typically a worktree of the commit before a change:
``git worktree add --detach ../base <commit>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
THROUGHPUT = ("samples_per_s", "puzzles_per_s")
IGNORED = {*THROUGHPUT, "step_s", "step_iqr_s", "flops_per_s", "mfu_fp32", "mfu_bf16", "seconds"}


def run_bench(tree: Path, args: list[str]) -> dict:
    """One ``trm bench ... --json`` in ``tree`` (its packages first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    trm = Path(sys.executable).with_name("trm")
    done = subprocess.run(
        [str(trm), "bench", *args, "--json"], env=env, cwd=tree, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"paired_bench: trm bench failed in {tree}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def key(row: dict) -> tuple:
    """A row's configuration: every field that is not a measurement."""
    return tuple(
        sorted(
            (k, v) for k, v in row.items() if k not in IGNORED and not isinstance(v, (dict, list))
        )
    )


def throughput(row: dict) -> float:
    return next(row[name] for name in THROUGHPUT if name in row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the checkout to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write every round's JSON here")
    parser.add_argument("bench", nargs=argparse.REMAINDER, help="-- then trm bench arguments")
    opts = parser.parse_args()
    args = opts.bench[1:] if opts.bench[:1] == ["--"] else opts.bench
    sides = {"base": opts.base.resolve(), "this": HERE}
    reports: dict[str, list[dict]] = {"base": [], "this": []}
    for round_ in range(opts.rounds):
        for side, tree in sides.items():
            reports[side].append(run_bench(tree, args))
            print(f"round {round_ + 1}/{opts.rounds}: {side} done", file=sys.stderr, flush=True)
    if opts.out:
        opts.out.write_text(
            json.dumps(
                {"args": args, "sides": {k: str(v) for k, v in sides.items()}, "reports": reports},
                indent=1,
            )
        )
    speeds: dict[tuple, dict[str, list[float]]] = {}
    for side, side_reports in reports.items():
        for report in side_reports:
            for row in report["rows"]:
                speeds.setdefault(key(row), {"base": [], "this": []})[side].append(throughput(row))
    print(f"{'configuration':58s} {'base':>9s} {'this':>9s} {'ratio':>6s}")
    for config, both in speeds.items():
        if not both["base"] or not both["this"]:
            continue
        base, this = statistics.median(both["base"]), statistics.median(both["this"])
        name = " ".join(f"{k}={v}" for k, v in config if k not in ("batch_size", "flops_per_step"))
        print(f"{name:58s} {base:9.2f} {this:9.2f} {this / base:5.2f}x")


if __name__ == "__main__":
    main()
