"""Paired speed of two checkouts, step by step: two worker processes take turns on one machine.

    python scripts/paired_steps.py BASE_TREE --precision bf16 --depth 6,3 --rounds 15

starts one worker in BASE_TREE and one in this checkout (each imports its own ``engine``), each
holding what ``trm bench train`` times (``engine.bench.rig.Rig``: the model, optimizers, EMA and
sampler of the ``cpu`` preset at batch 64 unless told otherwise; ``--compile``: this side's
network compiled, as ``train.compile=on`` does), and alternates them: base runs
``--chunk`` steps, then this tree, then base... Only one side runs at a time, so both see the
same machine, and a change in load (other tenants, clock boost) hits neighbouring chunks alike.
Prints the median rows/s of each side and the median of the per-round ratios with its spread.

``--mode solve`` times inference instead: ``engine.solving.inference.solve`` on ``--batch-size``
puzzles for all ``N_sup`` steps with halting off (a model with random weights: the cost of a step
does not depend on the weights), reporting puzzles/s. Same threads on both sides
(``--threads``, default all cores).
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

WORKER = r"""
import json, sys, time, torch
from engine.config import apply_overrides
from engine.presets import preset
opts = json.loads(sys.argv[1])
torch.set_num_threads(opts["threads"])
cfg = apply_overrides(preset(opts["preset"]), opts["set"])
device = torch.device("cpu")
dtype = torch.bfloat16 if opts["precision"] == "bf16" else None
if opts["mode"] == "train":
    from engine.bench.rig import Rig
    from engine.curriculum import Depth
    rig = Rig(cfg, device, dtype, opts["compile"], opts["batch_size"])
    depth = Depth(n=opts["n"], T=opts["T"], stage=1)
    work = lambda: rig.steps(depth, opts["chunk"])
    units = opts["batch_size"] * opts["chunk"]
else:
    from engine.bench.solve import sample_puzzles
    from engine.model import TRM
    from engine.solving.inference import solve
    torch.manual_seed(0)
    model = TRM(cfg.model)
    puzzles = sample_puzzles(opts["batch_size"])
    work = lambda: solve(model, puzzles, n_latent=opts["n"], n_cycles=opts["T"], halt=False,
                         batch_size=opts["batch_size"], keep_steps=False,
                         precision=opts["precision"])
    units = opts["batch_size"]
work()  # warm-up
print("ready", flush=True)
for line in sys.stdin:
    start = time.perf_counter()
    work()
    print(units / (time.perf_counter() - start), flush=True)
"""


def start(tree: Path, opts: dict) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(opts)],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.stdout.readline().strip() != "ready":
        sys.exit(f"paired_steps: the worker in {tree} did not start")
    return proc


def turn(proc: subprocess.Popen) -> float:
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("--mode", choices=("train", "solve"), default="train")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--set", action="append", default=[], help="section.field=value")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--depth", default="6,3", help="n,T")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=2, help="train steps per turn")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--compile", action="store_true", help="this tree's side compiles its network (train)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    a = parser.parse_args()
    n, T = (int(v) for v in a.depth.split(","))
    opts = {
        "mode": a.mode,
        "preset": a.preset,
        "set": a.set,
        "precision": a.precision,
        "n": n,
        "T": T,
        "batch_size": a.batch_size,
        "chunk": a.chunk,
        "threads": a.threads,
    }
    base = start(a.base.resolve(), {**opts, "compile": False})
    this = start(HERE, {**opts, "compile": a.compile})
    speeds: dict[str, list[float]] = {"base": [], "this": []}
    try:
        for _ in range(a.rounds):
            speeds["base"].append(turn(base))
            speeds["this"].append(turn(this))
    finally:
        for proc in (base, this):
            proc.stdin.close()
            proc.wait()
    ratios = sorted(t / b for b, t in zip(speeds["base"], speeds["this"], strict=True))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    unit = "rows/s" if a.mode == "train" else "puzzles/s"
    result = {
        **opts,
        "base_tree": str(a.base),
        "unit": unit,
        "base": statistics.median(speeds["base"]),
        "this": statistics.median(speeds["this"]),
        "ratio_median": q[1],
        "ratio_q1": q[0],
        "ratio_q3": q[2],
        "speeds": speeds,
    }
    if a.json:
        print(json.dumps(result))
    else:
        print(
            f"{a.mode} {a.preset} {a.precision} (n,T)=({n},{T}) batch {a.batch_size}: "
            f"base {result['base']:.2f} {unit}, this {result['this']:.2f} {unit}, "
            f"ratio {q[1]:.2f}x (quartiles {q[0]:.2f}-{q[2]:.2f}, {a.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
