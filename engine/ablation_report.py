"""What the ablation study reports: timings and curves read back from a run's events, the mean ±
std over seeds of every variant, and the ``results.md`` table beside the CGAR paper's numbers.

The paper (Qasim and Zhang, 2025) reports single runs at full scale; here every figure is a mean
over seeds with its sample standard deviation, so a difference can be read against run-to-run
noise. Timings come from the run's own events, so they survive interruptions and resumes:

- ``train_s``: seconds spent in optimizer steps, summed from the ``train`` events (each covers the
  steps since the previous one at its ``samples_per_s``). In-run evaluations and checkpoints are
  left out: they run at full depth for every variant alike and would blur the speed-up.
- ``wall_s``: wall-clock seconds of each training session (``run_start`` to ``run_end``), summed
  over resumes; this includes the in-run evaluations.
No torch here: this module reads events and writes text.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.config import ConfigError, RunConfig, apply_overrides

VARIANTS = ("baseline", "depth", "hsw", "cgar")
VARIANT_TITLES = {
    "baseline": "baseline",
    "depth": "depth curriculum only",
    "hsw": "supervision weighting only",
    "cgar": "CGAR (both)",
}
# Levers a variant may add after a "+" (engine.ablation.variant_config): title, override.
LEVERS = {
    "muon": ("Muon", "optim.optimizer=muon"),
    "halt3": ("halt bias -3", "model.halt_bias_init=-3"),
    "clues": ("clue curriculum", "curriculum.clues=true"),
}
THRESHOLDS = (0.5, 0.8, 0.9)  # time-to-accuracy: first evaluation at or above each
CLAIM_THRESHOLD = 0.8  # the accuracy whose time-to-accuracy the claims lines quote


def parse_variant(name: str) -> tuple[str, list[str]]:
    """``"cgar+muon"`` -> ``("cgar", ["muon"])``; an unknown part is a ConfigError naming it."""
    curricula, *levers = name.split("+")
    if curricula not in VARIANTS:
        where = f" in {name!r}" if levers else ""
        raise ConfigError(
            f"variant: unknown variant {curricula!r}{where} (known: {', '.join(VARIANTS)})"
        )
    for lever in levers:
        if lever not in LEVERS:
            raise ConfigError(
                f"variant: unknown lever {lever!r} in {name!r} (known: {', '.join(LEVERS)})"
            )
    if len(set(levers)) != len(levers):
        raise ConfigError(f"variant: {name!r} names a lever twice")
    return curricula, levers


@functools.cache
def _lever_settings() -> dict[str, tuple[str, str, Any]]:
    """Per lever: the section, field and value its override sets, parsed as ``--set`` parses it."""
    settings = {}
    for lever, (_, override) in LEVERS.items():
        section, name = override.split("=", 1)[0].split(".")
        wanted = getattr(getattr(apply_overrides(RunConfig(), [override]), section), name)
        settings[lever] = (section, name, wanted)
    return settings


def levers_of(config: dict[str, Any]) -> list[str]:
    """The levers of :data:`LEVERS` that a run's configuration (``config.json``, as a dict) has
    on, in their order; a missing or malformed section counts as off."""
    on = []
    for lever, (section, name, wanted) in _lever_settings().items():
        values = config.get(section)
        value = values.get(name) if isinstance(values, dict) else None
        if value == wanted and isinstance(value, bool) == isinstance(wanted, bool):
            on.append(lever)
    return on


def variant_order(name: str) -> tuple[int, int, str]:
    """Sort key: the four curricula variants in the paper's order, each followed by its levers."""
    curricula, levers = parse_variant(name)
    return (VARIANTS.index(curricula), len(levers), name)


def variant_title(name: str) -> str:
    """``"cgar+muon"`` -> ``"CGAR (both) + Muon"``."""
    curricula, levers = parse_variant(name)
    return " + ".join([VARIANT_TITLES[curricula], *(LEVERS[lever][0] for lever in levers)])


# CGAR paper, Sudoku-Extreme at full scale, single runs (Qasim and Zhang, 2025).
PAPER: dict[str, dict[str, float | None]] = {
    "baseline": {"exact_accuracy": 0.8665, "hours": 10.93, "speedup": 1.0},
    "depth": {"exact_accuracy": 0.8547, "hours": None, "speedup": 2.26},
    "hsw": {"exact_accuracy": None, "hours": None, "speedup": 1.61},
    "cgar": {"exact_accuracy": 0.8602, "hours": 6.38, "speedup": 1.71},
}
PAPER_HALT_ACCURACY = 1.0  # CGAR's halting accuracy
PAPER_FEWER_STEPS = 0.11  # CGAR's reduction of the mean halting step against the baseline

METRICS = (
    "train_s",
    "wall_s",
    "eval_s",
    "exact_accuracy",
    "cell_accuracy",
    "halt_accuracy",
    "avg_halt_step",
    "halt_exact_accuracy",
)


@dataclass
class RunTiming:
    """Timings and the accuracy curve of one run, from its events."""

    train_s: float  # seconds in optimizer steps
    wall_s: float  # seconds from run_start to run_end, summed over sessions
    total_steps: int
    device: str
    curve: list[dict[str, float]] = field(default_factory=list)  # per eval: step, train_s, accs
    stages: list[dict[str, float]] = field(default_factory=list)  # per stage change: step, train_s


def run_timing(events: list[dict[str, Any]]) -> RunTiming:
    """Timings, eval curve and stage changes of a run from its events (resumes included)."""
    points: list[tuple[int, float]] = [(0, 0.0)]  # (step, cumulative train seconds)
    evals: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    wall, start, last_time = 0.0, None, None
    total_steps, device, batch = 0, "", 0
    for event in events:
        kind, step = event["kind"], int(event["step"])
        if kind == "run_start":
            if start is not None and last_time is not None:
                wall += last_time - start  # a session that ended without run_end (killed)
            start = event["time"]
            total_steps, device = int(event["total_steps"]), str(event["device"])
            batch = int(event["config"]["train"]["batch_size"])
            # Steps after the checkpoint this session resumes from are done again: drop them.
            points = [p for p in points if p[0] <= step]
            evals = [e for e in evals if e["step"] <= step]
            stages = [s for s in stages if s["step"] <= step]
        elif kind == "train" and event.get("samples_per_s"):
            done = step - points[-1][0]
            points.append((step, points[-1][1] + batch * done / float(event["samples_per_s"])))
        elif kind == "eval":
            evals.append(event)
        elif kind == "stage":
            stages.append(event)
        elif kind == "run_end" and start is not None:
            wall += event["time"] - start
            start = None
        last_time = event["time"]
    if start is not None and last_time is not None:
        wall += last_time - start

    def at(step: int) -> float:
        return float(np.interp(step, [p[0] for p in points], [p[1] for p in points]))

    curve = [
        {
            "step": int(e["step"]),
            "train_s": at(e["step"]),
            "exact_accuracy": e["exact_accuracy"],
            "cell_accuracy": e["cell_accuracy"],
            "halt_exact_accuracy": e.get("halt_exact_accuracy"),
        }
        for e in evals
    ]
    stage_marks = [
        {"stage": int(s["stage"]), "step": int(s["step"]), "train_s": at(s["step"])}
        for s in stages
        if int(s["stage"]) > 1
    ]
    return RunTiming(points[-1][1], wall, total_steps, device, curve, stage_marks)


def mean_std(values: list[float]) -> dict[str, float | int | None]:
    """``{"mean", "std", "n"}``; ``std`` is the sample standard deviation (None below 2 values)."""
    clean = [v for v in values if v is not None and math.isfinite(v)]
    if not clean:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(clean, ddof=1)) if len(clean) > 1 else None
    return {"mean": float(np.mean(clean)), "std": std, "n": len(clean)}


def reached(curve: list[dict[str, Any]], threshold: float) -> dict[str, float] | None:
    """The first evaluation of ``curve`` with exact accuracy >= ``threshold``: its ``step`` and
    ``train_s``; None when the run never got there."""
    for point in curve:
        if point["exact_accuracy"] >= threshold:
            return {"step": point["step"], "train_s": point["train_s"]}
    return None


def time_to_accuracy(runs: list[dict[str, Any]], base: list[dict[str, Any]]) -> dict[str, Any]:
    """Per threshold of :data:`THRESHOLDS`: mean ± std of the steps and training seconds until
    the first evaluation at that exact accuracy, over the seeds that got there (``reached`` of
    ``runs``), and the speed-up over the baseline runs ``base``, paired by seed (seeds where both
    got there)."""
    out: dict[str, Any] = {}
    for threshold in THRESHOLDS:
        mine = {r["seed"]: reached(r.get("curve", []), threshold) for r in runs}
        theirs = {r["seed"]: reached(r.get("curve", []), threshold) for r in base}
        hits = [hit for hit in mine.values() if hit]
        out[f"{threshold:g}"] = {
            "steps": mean_std([hit["step"] for hit in hits]),
            "train_s": mean_std([hit["train_s"] for hit in hits]),
            "reached": len(hits),
            "runs": len(mine),
            "speedup": mean_std(
                [
                    theirs[seed]["train_s"] / hit["train_s"]
                    for seed, hit in mine.items()
                    if hit and theirs.get(seed) and hit["train_s"] > 0
                ]
            ),
        }
    return out


def summarize(runs: list[dict[str, Any]], variants: list[str]) -> dict[str, Any]:
    """Per variant: mean ± std over seeds of every metric, of the speed-up over the baseline and
    of the time to each accuracy of :data:`THRESHOLDS` (:func:`time_to_accuracy`).

    The speed-up is paired by seed (baseline ``train_s`` / variant ``train_s`` of the same seed),
    so machine load shared by a pair cancels out as far as it can.
    """
    baseline = [r for r in runs if r["variant"] == "baseline"]
    base_time = {r["seed"]: r["train_s"] for r in baseline}
    summary: dict[str, Any] = {}
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant]
        if not mine:
            continue
        entry = {m: mean_std([r[m] for r in mine]) for m in METRICS}
        entry["speedup"] = mean_std(
            [base_time[r["seed"]] / r["train_s"] for r in mine if r["seed"] in base_time]
        )
        entry["seeds"] = sorted(r["seed"] for r in mine)
        entry["to_accuracy"] = time_to_accuracy(mine, baseline)
        summary[variant] = entry
    return summary


def _fmt(stat: dict[str, Any] | None, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    """``mean ± std`` (or just the mean for one seed); a dash when there is nothing."""
    if not stat or stat["mean"] is None:
        return "—"
    text = f"{stat['mean'] * scale:.{digits}f}"
    if stat["std"] is not None:
        text += f" ± {stat['std'] * scale:.{digits}f}"
    return text + unit


def _paper_cell(variant: str) -> str:
    paper = PAPER.get(variant, {})
    parts = []
    if paper.get("exact_accuracy") is not None:
        parts.append(f"{paper['exact_accuracy'] * 100:.2f}%")
    if paper.get("hours") is not None:
        parts.append(f"{paper['hours']:.2f} h")
    if paper.get("speedup") not in (None, 1.0):
        parts.append(f"{paper['speedup']:.2f}x")
    return " · ".join(parts) or "—"


def _claims(summary: dict[str, Any]) -> list[str]:
    """The paper's claims, each with ours beside it (only where this study ran the variants)."""
    lines = []
    for variant in ("cgar", "depth", "hsw"):
        if variant in summary and "baseline" in summary:
            to = summary[variant].get("to_accuracy", {}).get(f"{CLAIM_THRESHOLD:g}")
            reach = ""
            if to and to["speedup"]["n"]:
                reach = (
                    f"; to {CLAIM_THRESHOLD:.0%} exact "
                    f"{_fmt(to['speedup'], digits=2, unit='x')} (seeds {to['speedup']['n']})"
                )
            lines.append(
                f"- {VARIANT_TITLES[variant]}: paper {PAPER[variant]['speedup']:.2f}x faster "
                f"than the baseline; here {_fmt(summary[variant]['speedup'], digits=2, unit='x')} "
                f"at equal steps{reach}"
            )
    if "cgar" in summary and "baseline" in summary:
        cgar, base = summary["cgar"], summary["baseline"]
        lines.append(
            f"- exact accuracy, CGAR vs baseline: paper 86.02% vs 86.65%; here "
            f"{_fmt(cgar['exact_accuracy'], 100, unit='%')} vs "
            f"{_fmt(base['exact_accuracy'], 100, unit='%')}"
        )
        fewer = None
        if cgar["avg_halt_step"]["mean"] and base["avg_halt_step"]["mean"]:
            fewer = 1.0 - cgar["avg_halt_step"]["mean"] / base["avg_halt_step"]["mean"]
        lines.append(
            f"- reasoning steps with halting, CGAR vs baseline: paper {PAPER_FEWER_STEPS:.0%} "
            f"fewer; here {'—' if fewer is None else f'{fewer:.0%} fewer'} "
            f"({_fmt(cgar['avg_halt_step'], digits=2)} vs {_fmt(base['avg_halt_step'], digits=2)})"
        )
    if "cgar" in summary:
        lines.append(
            f"- CGAR halting accuracy: paper {PAPER_HALT_ACCURACY:.0%}; here "
            f"{_fmt(summary['cgar']['halt_accuracy'], 100, unit='%')}"
        )
    return lines


def _time_to_accuracy_table(results: dict[str, Any]) -> list[str]:
    """Steps and seconds to each accuracy, per variant, with the paired speed-up."""
    summary = results["summary"]
    rows = [v for v in results["variants"] if v in summary and "to_accuracy" in summary[v]]
    if not rows or not any(r.get("curve") for r in results["runs"]):
        return []
    heads = [f"to {t:.0%} exact: steps · s (runs there)" for t in THRESHOLDS]
    speedups = [f"speed-up to {t:.0%}" for t in THRESHOLDS]
    lines = [
        "",
        "Time to accuracy: the first in-run evaluation (held-out split, full depth, all "
        "supervision steps) at each exact accuracy; mean ± std over the runs that got there, "
        "training seconds as above. Speed-up: the baseline's seconds over the variant's, paired "
        "by seed where both got there.",
        "",
        "| variant | " + " | ".join(heads + speedups) + " |",
        "|---" * (1 + len(heads) + len(speedups)) + "|",
    ]
    for variant in rows:
        to = summary[variant]["to_accuracy"]
        cells = [variant_title(variant)]
        for t in THRESHOLDS:
            entry = to[f"{t:g}"]
            cells.append(
                f"{_fmt(entry['steps'], digits=0)} · {_fmt(entry['train_s'], digits=0)} "
                f"({entry['reached']}/{entry['runs']})"
            )
        cells += [_fmt(to[f"{t:g}"]["speedup"], digits=2, unit="x") for t in THRESHOLDS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def results_markdown(results: dict[str, Any]) -> str:
    """``results.md``: settings, the table (mean ± std over seeds) and the paper's claims."""
    summary = results["summary"]
    cfg = results["config"]
    devices = sorted({r["device"] for r in results["runs"]})
    steps = sorted({r["total_steps"] for r in results["runs"]})
    lines = [
        "# CGAR ablation",
        "",
        f"Preset `{results['preset']}`: width {cfg['model']['d']}, {cfg['model']['mixer']} mixer, "
        f"batch {cfg['train']['batch_size']}, {', '.join(map(str, steps))} steps, "
        f"{cfg['data']['n_train']} training puzzles (min clues {cfg['data']['min_clues']}), "
        f"evaluation at full depth on the held-out split. Device: {', '.join(devices)}.",
        "Each figure is mean ± sample std over seeds (n per variant in the last column). "
        "Train time counts optimizer steps only (in-run evaluations and checkpoints left out); "
        "wall time is the whole training session. Timings on a shared machine are noisy.",
        "",
        "| variant | train time (s) | speed-up vs baseline | wall time (s) | exact acc | cell acc "
        "| halting acc | mean halting step | exact acc with halting | paper | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in results["variants"]:
        if variant not in summary:
            continue
        s = summary[variant]
        cells = [
            variant_title(variant),
            _fmt(s["train_s"], digits=0),
            _fmt(s["speedup"], digits=2, unit="x"),
            _fmt(s["wall_s"], digits=0),
            _fmt(s["exact_accuracy"], 100, unit="%"),
            _fmt(s["cell_accuracy"], 100, unit="%"),
            _fmt(s["halt_accuracy"], 100, unit="%"),
            _fmt(s["avg_halt_step"], digits=2),
            _fmt(s["halt_exact_accuracy"], 100, unit="%"),
            _paper_cell(variant),
            str(len(s["seeds"])),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += _time_to_accuracy_table(results)
    claims = _claims(summary)
    if claims:
        lines += ["", "The paper's claims (single runs at full scale) beside ours:", "", *claims]
    return "\n".join(lines) + "\n"
