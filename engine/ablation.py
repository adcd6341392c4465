"""CGAR's ablation as a reproducible study (Qasim and Zhang, 2025, Sudoku-Extreme ablation):
baseline, depth curriculum only, supervision weighting only, and CGAR, each trained with the
same data, epochs and seeds, then evaluated on the same held-out split at full depth.

Departure from the paper: it reports single runs; here every variant runs over several seeds so
each figure carries an error bar (``engine.ablation_report``). Each run is a normal run directory
``OUT/runs/<variant>-seed<k>``, so ``trm dashboard OUT/runs`` and ``trm eval`` work on it.

Resume: a run whose last ``run_end`` is "finished" and which has an entry in ``results.json`` is
not redone; a finished run without one is only evaluated; an unfinished run continues from its
``latest.pt`` (``engine.trainer.train(..., resume=True)``), or restarts if it has none.
``results.json`` and ``results.md`` are rewritten atomically after every run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import trainer
from engine.ablation_report import (
    LEVERS,
    PAPER,
    VARIANTS,
    parse_variant,
    results_markdown,
    run_timing,
    summarize,
    variant_order,
)
from engine.config import ConfigError, RunConfig, apply_overrides
from engine.curriculum import DepthSchedule, hsw_weights
from engine.data import load_data
from engine.device import resolve_device
from engine.evaluate import EvalResult, evaluate, load_trained_model
from engine.events import EventSink, Fanout, read_events
from engine.presets import preset, with_cgar
from engine.run_dir import RunPaths, create_run_dir
from engine.session import eval_every_for, total_steps_for

RESULTS_VERSION = 1
DEFAULT_SEEDS = 3


class AblationError(ValueError):
    """The study cannot run as asked (e.g. OUT holds a different study); names the file."""


SCALES = ("readme", "quick")


def ablation_config(preset_name: str, scale: str = "readme") -> RunConfig:
    """The configuration every variant and seed of the study starts from (curricula off).

    For the ``cpu`` preset, ``scale`` picks the study's size:

    - ``readme`` (default): the README's first command, the ``cpu`` preset unchanged (625 steps
      of 64 on puzzles with 45 givens, where a run reaches 71-96% exact), evaluated every 50
      steps so that time-to-accuracy can be read off the curve. Measured on a 2-core AMD EPYC
      with AVX512-BF16 (bf16, compiled, 2 threads): 0.74 s a step at full depth and 11 s an
      evaluation of 100 puzzles, so about 10 min a full-depth run and 7 min a CGAR run; the
      four variants over 3 seeds, about 100 min (:func:`estimate_s` prices a plan).
    - ``quick``: easy puzzles (60 givens) for 7 epochs (110 steps of 64), evaluated at steps 55
      and 110; about 16.5 min a seed on 2 threads, where every variant stays at 0% exact.

    ``tiny`` and ``paper`` are the presets unchanged.
    """
    if scale not in SCALES:
        raise ConfigError(f"scale: unknown {scale!r} (known: {', '.join(SCALES)})")
    cfg = preset(preset_name)
    if preset_name == "cpu":
        if scale == "quick":
            data = dataclasses.replace(cfg.data, min_clues=60)
            train = dataclasses.replace(cfg.train, epochs=7, eval_every=55, log_every=5)
        else:
            data, train = cfg.data, dataclasses.replace(cfg.train, eval_every=50)
        cfg = dataclasses.replace(cfg, data=data, train=train)
    return variant_config(cfg, "baseline", cfg.train.seed)


# Seconds per network application and row, bf16 and compiled on a 2-core AMD EPYC with
# AVX512-BF16 (the README's first command): what the study's up-front estimate is priced at.
PACE_S = 3.3e-4


def variant_config(base: RunConfig, variant: str, seed: int) -> RunConfig:
    """``base`` with the switches of ``variant`` on and ``train.seed = seed``.

    A variant is one of :data:`VARIANTS` (which of CGAR's curricula are on), optionally followed
    by levers of :data:`LEVERS`, ``+`` each: ``cgar+muon``, ``baseline+halt3+clues``.
    """
    curricula, levers = parse_variant(variant)
    off = dataclasses.replace(base.curriculum, depth=False, hsw=False)
    cfg = dataclasses.replace(
        base, curriculum=off, train=dataclasses.replace(base.train, seed=seed)
    )
    if curricula != "baseline":
        cfg = with_cgar(cfg, depth=curricula in ("depth", "cgar"), hsw=curricula in ("hsw", "cgar"))
    return apply_overrides(cfg, [LEVERS[lever][1] for lever in levers])


@dataclass(frozen=True)
class PlannedRun:
    """One (variant, seed) of the study and the configuration it trains with."""

    variant: str
    seed: int
    config: RunConfig
    cost_per_step: float  # mean network applications per step (engine.curriculum.step_cost)

    @property
    def name(self) -> str:
        """Run directory name: ``<variant>-seed<k>``."""
        return f"{self.variant}-seed{self.seed}"


def plan_runs(base: RunConfig, variants: list[str], n_seeds: int) -> list[PlannedRun]:
    """Every (variant, seed), seed by seed, so a partial study already compares whole seeds."""
    if n_seeds < 1:
        raise ConfigError(f"seeds: must be >= 1, got {n_seeds}")
    runs = []
    for k in range(n_seeds):
        seed = base.train.seed + k
        for variant in variants:
            cfg = variant_config(base, variant, seed)
            schedule = DepthSchedule(cfg.curriculum, cfg.model.n_latent, cfg.model.n_cycles)
            cost = schedule.remaining_cost(0, 10_000) / 10_000
            runs.append(PlannedRun(variant, seed, cfg, cost))
    return runs


def estimate_s(run: PlannedRun) -> float | None:
    """Seconds ``run`` takes at :data:`PACE_S`: its steps at their mean cost, plus its in-run
    evaluations (every held-out puzzle, all supervision steps, full depth, forward only).
    None when the training set's size is not known before loading it (``data.path`` set)."""
    cfg = run.config
    if cfg.data.path and cfg.train.max_steps <= 0:
        return None
    steps = total_steps_for(cfg, cfg.data.n_train)
    m = cfg.model
    n_evals = math.ceil(steps / eval_every_for(cfg, steps))  # the last step's included
    per_eval = cfg.data.n_test * m.n_sup * m.n_cycles * (m.n_latent + 1)
    return PACE_S * (steps * run.cost_per_step * cfg.train.batch_size + n_evals * per_eval)


class Watcher:
    """Receives the study's progress; the default ignores it (the CLI shows it)."""

    def planned(self, runs: list[PlannedRun], modes: list[str]) -> None:
        """The whole plan, with what each run needs (see :meth:`run_started`)."""

    def run_started(self, run: PlannedRun, index: int, n_runs: int, mode: str) -> None:
        """A run begins; ``mode`` is "fresh", "restart", "resume", "evaluate" or "skip"."""

    def event(self, run: PlannedRun, event: dict[str, Any]) -> None:
        """An event of the run being trained."""

    def run_finished(self, run: PlannedRun, result: dict[str, Any]) -> None:
        """A run is trained and evaluated; ``result`` is its ``results.json`` entry."""


@dataclass
class StudyOutcome:
    """How the study ended and what it wrote."""

    reason: str  # "finished", "interrupted" or "failed"
    message: str
    results: dict[str, Any]  # the content of results.json
    n_trained: int  # runs trained (fully or partly) by this call


def run_ablation(
    base: RunConfig,
    out: Path,
    variants: list[str] | None = None,
    n_seeds: int = DEFAULT_SEEDS,
    watcher: Watcher | None = None,
    stop: Callable[[], bool] | None = None,
) -> StudyOutcome:
    """Train and evaluate every run not done yet; write ``results.json`` and ``results.md``."""
    watcher = watcher or Watcher()
    base = variant_config(base, "baseline", base.train.seed)  # the study's own switches only
    variants = list(dict.fromkeys(variants or VARIANTS))
    runs = plan_runs(base, variants, n_seeds)
    out = Path(out)
    results = _open_results(out, base)
    done = {(r["variant"], r["seed"]) for r in results["runs"]}
    # Every run is checked before any trains, so a mismatched OUT fails at once.
    modes = [_mode(out / "runs" / run.name, run, (run.variant, run.seed) in done) for run in runs]
    watcher.planned(runs, modes)
    n_trained = 0
    for index, (run, mode) in enumerate(zip(runs, modes, strict=True), start=1):
        root = out / "runs" / run.name
        watcher.run_started(run, index, len(runs), mode)
        if mode == "skip":
            continue
        if mode in ("fresh", "restart", "resume"):
            n_trained += 1
            if mode == "restart":
                shutil.rmtree(root)  # our own run that never reached a checkpoint: nothing to keep
            if mode != "resume":
                create_run_dir(root, run.config)
            sink = Fanout(
                EventSink(RunPaths(root).events), lambda e, run=run: watcher.event(run, e)
            )
            try:
                summary = trainer.train(run.config, root, sink, resume=mode == "resume", stop=stop)
            finally:
                sink.close()
            if summary.reason != "finished":
                return StudyOutcome(
                    summary.reason, f"{run.name}: {summary.message}", results, n_trained
                )
        entry = _evaluate_run(run, root, out)
        results["runs"] = [
            r for r in results["runs"] if (r["variant"], r["seed"]) != (run.variant, run.seed)
        ] + [entry]
        _write_results(out, results, variants)
        watcher.run_finished(run, entry)
    _write_results(out, results, variants)
    return StudyOutcome("finished", f"{len(runs)} runs in {out}", results, n_trained)


def _mode(root: Path, run: PlannedRun, has_result: bool) -> str:
    """What a run needs: "skip", "evaluate", "resume", "restart" or "fresh"."""
    paths = RunPaths(root)
    if not root.exists():
        return "fresh"
    if not any(p.is_file() for p in root.rglob("*")):
        return "restart"  # created, then stopped before its config was written: holds nothing
    if not paths.config.is_file():
        raise AblationError(f"{root}: exists but is not a trm run directory; move it away")
    try:
        saved = json.loads(paths.config.read_text())
    except json.JSONDecodeError as e:
        raise AblationError(f"{paths.config}: not valid JSON ({e})") from None
    saved = _with_defaults(saved)
    if saved != run.config.to_dict():
        difference = _first_difference(saved, run.config.to_dict())
        raise AblationError(
            f"{paths.config}: this run was made with other settings ({difference}); "
            "use another --out or the same settings"
        )
    events = read_events(paths.events) if paths.events.is_file() else []
    ends = [e for e in events if e["kind"] == "run_end"]
    if ends and ends[-1]["reason"] == "finished":
        return "skip" if has_result else "evaluate"
    return "resume" if paths.latest.is_file() else "restart"


def _evaluate_run(run: PlannedRun, root: Path, out: Path) -> dict[str, Any]:
    """The run's final (EMA) weights on its held-out split at full depth; its entry.

    The trainer evaluates those same weights on the same split at its last step, so that
    evaluation is taken from the events; only a run without one is evaluated here.
    """
    events = read_events(RunPaths(root).events)
    timing = run_timing(events)
    started = time.perf_counter()
    result = _final_eval(events, timing.total_steps) or _evaluate_latest(run.config, root)
    return {
        "variant": run.variant,
        "seed": run.seed,
        "run_dir": str(root.relative_to(out)),
        "total_steps": timing.total_steps,
        "device": timing.device,
        "train_s": timing.train_s,
        "wall_s": timing.wall_s,
        "eval_s": time.perf_counter() - started,
        **dataclasses.asdict(result),
        "curve": timing.curve,
        "stages": timing.stages,
    }


def _final_eval(events: list[dict[str, Any]], total_steps: int) -> EvalResult | None:
    """The evaluation the trainer logged at the run's last step, if it logged one."""
    fields = [f.name for f in dataclasses.fields(EvalResult)]
    finals = [e for e in events if e["kind"] == "eval" and e["step"] == total_steps]
    if not finals or not all(f in finals[-1] for f in fields):
        return None
    return EvalResult(**{f: finals[-1][f] for f in fields})


def _evaluate_latest(cfg: RunConfig, root: Path) -> EvalResult:
    """Evaluate the run's latest.pt (not best.pt: choosing by test accuracy would leak the test
    split into the result)."""
    device = resolve_device(cfg.train.device)
    splits = load_data(cfg.data)
    trained = load_trained_model(RunPaths(root).latest, device)
    return evaluate(
        trained.model,
        splits.test_questions,
        splits.test_answers,
        cfg.train.eval_batch_size or cfg.train.batch_size,
        cfg.train.precision,
    )


def _open_results(out: Path, base: RunConfig) -> dict[str, Any]:
    """The study's results so far, or a fresh one; a study of other settings is refused."""
    path = out / "results.json"
    fresh = {
        "version": RESULTS_VERSION,
        "preset": base.preset,
        "config": base.to_dict(),
        "hsw_weights": hsw_weights(base.model.n_sup, base.curriculum.hsw_lambda),
        "paper": PAPER,
        "variants": [],
        "runs": [],
        "summary": {},
    }
    if not path.exists():
        return fresh
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise AblationError(f"{path}: not valid JSON ({e}); move it away to start over") from None
    if not isinstance(results, dict) or results.get("version") != RESULTS_VERSION:
        raise AblationError(f"{path}: not a results file of this version of trm")
    saved = _with_defaults(results.get("config"))
    if saved != fresh["config"]:
        difference = _first_difference(saved or {}, fresh["config"])
        raise AblationError(
            f"{path}: this study was made with other settings ({difference}); "
            "use another --out or the same settings"
        )
    return results


def _with_defaults(saved: Any) -> Any:
    """A saved configuration with the fields added since it was written at their defaults (a
    new field's default is the behaviour from before it existed), so that a study keeps
    resuming across versions of trm; anything that is not a valid configuration as it is."""
    if not isinstance(saved, dict):
        return saved
    try:
        return RunConfig.from_dict(saved).to_dict()
    except (ConfigError, TypeError, ValueError):
        return saved


def _first_difference(saved: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> str:
    """``key: saved -> wanted`` for the first setting that differs."""
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = _first_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}: {a!r} there, {b!r} here"
    return ""


def _write_results(out: Path, results: dict[str, Any], variants: list[str]) -> None:
    """Recompute the summary and write ``results.json`` and ``results.md``, each atomically."""
    known = list(dict.fromkeys([*results["variants"], *variants]))
    results["variants"] = sorted(known, key=variant_order)
    results["runs"].sort(key=lambda r: (variant_order(r["variant"]), r["seed"]))
    results["summary"] = summarize(results["runs"], results["variants"])
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "results.json", json.dumps(results, indent=1) + "\n")
    _write_atomic(out / "results.md", results_markdown(results))


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file, then rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
