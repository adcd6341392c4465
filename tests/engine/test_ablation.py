"""The ablation driver on the tiny preset: variants and seeds, results.json and results.md, and
resume (finished runs are not redone, an interrupted run continues from its checkpoint)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import engine.trainer
from engine.ablation import (
    PACE_S,
    AblationError,
    Watcher,
    ablation_config,
    estimate_s,
    plan_runs,
    run_ablation,
    variant_config,
)
from engine.config import ConfigError, RunConfig, apply_overrides
from engine.curriculum import step_cost
from engine.events import read_events
from engine.presets import preset, with_cgar
from tests.engine.test_data import write_puzzles


def tiny_study(tmp_path: Path, *overrides: str) -> RunConfig:
    """The tiny preset on 16 written puzzles (8 held out), 4 steps, evaluated every 2."""
    data = write_puzzles(tmp_path / "puzzles.csv", 16)
    return apply_overrides(
        ablation_config("tiny"),
        [f"data.path={data}", "train.max_steps=4", "train.eval_every=2", *overrides],
    )


class CountingTrain:
    """Wraps engine.trainer.train to count the runs it trains."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[Path, bool]] = []
        self.real = engine.trainer.train
        monkeypatch.setattr(engine.trainer, "train", self)

    def __call__(self, cfg: RunConfig, run_dir: Path, sink: object, **kwargs: object) -> object:
        self.calls.append((Path(run_dir), bool(kwargs.get("resume"))))
        return self.real(cfg, run_dir, sink, **kwargs)


def test_variants_switch_only_their_curricula_and_set_the_seed() -> None:
    base = with_cgar(ablation_config("tiny"))  # the study switches curricula itself
    seen = {
        v: (c.curriculum.depth, c.curriculum.hsw, c.train.seed)
        for v in ("baseline", "depth", "hsw", "cgar")
        for c in [variant_config(base, v, 7)]
    }
    assert seen == {
        "baseline": (False, False, 7),
        "depth": (True, False, 7),
        "hsw": (False, True, 7),
        "cgar": (True, True, 7),
    }
    with pytest.raises(ConfigError, match="variant"):
        variant_config(base, "both", 0)
    cpu = ablation_config("cpu")
    assert not cpu.curriculum.depth and not cpu.curriculum.hsw
    assert cpu.data.min_clues > 0 and cpu.preset == "cpu"
    with pytest.raises(ConfigError, match="preset"):
        ablation_config("huge")


def test_levers_add_their_one_setting_to_a_variant() -> None:
    base = ablation_config("tiny")
    plain = variant_config(base, "cgar", 3)
    muon = variant_config(base, "cgar+muon", 3)
    assert muon.optim.optimizer == "muon" and plain.optim.optimizer == "adam-atan2"
    assert dataclasses.replace(muon, optim=plain.optim) == plain  # nothing else changed
    both = variant_config(base, "baseline+halt3+clues", 0)
    assert both.model.halt_bias_init == -3.0 and both.curriculum.clues
    assert not both.curriculum.depth and not both.curriculum.hsw
    for bad, why in [("cgar+adamw", "lever 'adamw'"), ("cgar+muon+muon", "twice")]:
        with pytest.raises(ConfigError, match=why):
            variant_config(base, bad, 0)


def test_the_readme_scale_is_the_cpu_preset_with_a_fine_eval_curve() -> None:
    readme, quick, cpu = ablation_config("cpu"), ablation_config("cpu", "quick"), preset("cpu")
    assert readme.data == cpu.data and readme.model == cpu.model and readme.optim == cpu.optim
    assert readme.train.epochs == cpu.train.epochs and readme.train.eval_every == 50
    assert quick.data.min_clues == 60 and quick.train.epochs == 7
    with pytest.raises(ConfigError, match="scale"):
        ablation_config("cpu", "huge")


def test_the_up_front_estimate_prices_steps_at_their_depth_and_every_evaluation() -> None:
    baseline, cgar = plan_runs(ablation_config("cpu"), ["baseline", "cgar"], 1)
    # 625 steps of 64 rows at 35 applications; 13 evaluations (every 50 steps, and step 0's
    # place taken by the last) of 100 puzzles x 16 steps x 21 forward applications.
    assert estimate_s(baseline) == pytest.approx(PACE_S * (625 * 35 * 64 + 13 * 100 * 16 * 21))
    assert estimate_s(cgar) < estimate_s(baseline)
    with_file = dataclasses.replace(
        baseline, config=apply_overrides(baseline.config, ["data.path=x.csv"])
    )
    assert estimate_s(with_file) is None  # the training set's size is not known yet


def test_plan_runs_seed_by_seed_with_their_cost() -> None:
    base = apply_overrides(ablation_config("tiny"), ["train.seed=5"])
    runs = plan_runs(base, ["baseline", "cgar"], 2)
    assert [r.name for r in runs] == [
        "baseline-seed5",
        "cgar-seed5",
        "baseline-seed6",
        "cgar-seed6",
    ]
    full = step_cost(base.model.n_latent, base.model.n_cycles)
    assert runs[0].cost_per_step == pytest.approx(full)
    # tiny stages: 30% at (1, 1), 30% at (1, 2), 40% at (2, 2).
    expected = 0.3 * step_cost(1, 1) + 0.3 * step_cost(1, 2) + 0.4 * step_cost(2, 2)
    assert runs[1].cost_per_step == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ConfigError, match="seeds"):
        plan_runs(base, ["baseline"], 0)


@pytest.mark.slow
def test_study_writes_results_and_does_not_redo_finished_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, out = tiny_study(tmp_path), tmp_path / "study"
    counter = CountingTrain(monkeypatch)
    outcome = run_ablation(base, out, ["baseline", "cgar"], 2)
    assert outcome.reason == "finished" and outcome.n_trained == 4 and len(counter.calls) == 4

    results = json.loads((out / "results.json").read_text())
    assert results["variants"] == ["baseline", "cgar"] and results["preset"] == "tiny"
    assert len(results["hsw_weights"]) == base.model.n_sup
    assert [(r["variant"], r["seed"]) for r in results["runs"]] == [
        ("baseline", 0),
        ("baseline", 1),
        ("cgar", 0),
        ("cgar", 1),
    ]
    for run in results["runs"]:
        assert run["total_steps"] == 4 and run["n_puzzles"] == 8
        assert 0 < run["train_s"] < run["wall_s"] and run["eval_s"] > 0
        assert [p["step"] for p in run["curve"]] == [2, 4]
        assert run["curve"][-1]["train_s"] == pytest.approx(run["train_s"])
        events = read_events(out / run["run_dir"] / "events.jsonl")
        assert events[-1]["kind"] == "run_end" and events[-1]["reason"] == "finished"
        # The final evaluation is of the final weights: it repeats the last in-run evaluation.
        last = [e for e in events if e["kind"] == "eval"][-1]
        assert run["exact_accuracy"] == last["exact_accuracy"]
        assert run["cell_accuracy"] == pytest.approx(last["cell_accuracy"])
    assert [s["stage"] for s in results["runs"][2]["stages"]] == [2, 3]  # CGAR's depth stages
    assert results["runs"][0]["stages"] == []
    summary = results["summary"]["cgar"]
    assert summary["seeds"] == [0, 1] and summary["exact_accuracy"]["n"] == 2
    assert summary["train_s"]["std"] is not None
    assert results["summary"]["baseline"]["speedup"]["mean"] == pytest.approx(1.0)
    table = (out / "results.md").read_text()
    assert "| baseline |" in table and "| CGAR (both) |" in table and "86.02%" in table

    # Again: nothing is trained, nothing is rewritten in the run directories.
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*") if p.is_file()}
    again = run_ablation(base, out, ["baseline", "cgar"], 2)
    assert again.reason == "finished" and again.n_trained == 0 and len(counter.calls) == 4
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert again.results["runs"] == results["runs"]

    # A finished run whose result was lost is evaluated again, not trained again; without the
    # trainer's final evaluation in its events, from its latest.pt, to the same figures.
    lost = next(r for r in results["runs"] if r["run_dir"] == "runs/cgar-seed1")
    events_file = out / "runs" / "cgar-seed1" / "events.jsonl"
    lines = events_file.read_text().splitlines(keepends=True)
    final_eval = [i for i, line in enumerate(lines) if '"kind":"eval"' in line.replace(" ", "")][-1]
    events_file.write_text("".join(lines[:final_eval] + lines[final_eval + 1 :]))
    results["runs"] = [r for r in results["runs"] if r is not lost]
    (out / "results.json").write_text(json.dumps(results))
    third = run_ablation(base, out, ["baseline", "cgar"], 2)
    assert third.n_trained == 0 and len(counter.calls) == 4 and len(third.results["runs"]) == 4
    again_lost = next(r for r in third.results["runs"] if r["run_dir"] == "runs/cgar-seed1")
    for key in ("exact_accuracy", "cell_accuracy", "halt_accuracy", "avg_halt_step"):
        assert again_lost[key] == pytest.approx(lost[key], abs=1e-6), key


@pytest.mark.slow
def test_an_interrupted_run_continues_from_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, out = tiny_study(tmp_path), tmp_path / "study"
    polls: list[int] = []
    outcome = run_ablation(base, out, ["cgar"], 1, stop=lambda: polls.append(1) or len(polls) >= 3)
    assert outcome.reason == "interrupted" and "cgar-seed0" in outcome.message
    assert not (out / "results.json").exists()

    counter = CountingTrain(monkeypatch)
    modes: list[str] = []

    class Modes(Watcher):
        def run_started(self, run: object, index: int, n_runs: int, mode: str) -> None:
            modes.append(mode)

    outcome = run_ablation(base, out, ["cgar"], 1, watcher=Modes())
    assert outcome.reason == "finished" and modes == ["resume"]
    assert counter.calls == [(out / "runs" / "cgar-seed0", True)]
    starts = [
        e for e in read_events(out / "runs/cgar-seed0/events.jsonl") if e["kind"] == "run_start"
    ]
    assert [(s["step"], s["resumed"]) for s in starts] == [(0, False), (3, True)]
    entry = outcome.results["runs"][0]
    assert [p["step"] for p in entry["curve"]] == [2, 4]


@pytest.mark.slow
def test_a_run_without_checkpoint_restarts(tmp_path: Path) -> None:
    base, out = tiny_study(tmp_path), tmp_path / "study"
    root = out / "runs" / "baseline-seed0"
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(variant_config(base, "baseline", 0).to_dict()))
    (root / "events.jsonl").write_text('{"v": 1, "kind": "run_start", "step": 0, "time": 1.0}\n')
    outcome = run_ablation(base, out, ["baseline"], 1)
    assert outcome.reason == "finished"
    starts = [e for e in read_events(root / "events.jsonl") if e["kind"] == "run_start"]
    assert len(starts) == 1 and starts[0]["time"] > 1.0


def test_another_study_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    base, out = tiny_study(tmp_path), tmp_path / "study"
    out.mkdir()
    other = apply_overrides(base, ["train.max_steps=9"])
    (out / "results.json").write_text(json.dumps({"version": 1, "config": other.to_dict()}))
    with pytest.raises(AblationError, match=r"results.json: .*train.max_steps: 9 there, 4 here"):
        run_ablation(base, out, ["baseline"], 1)
    (out / "results.json").unlink()
    root = out / "runs" / "baseline-seed0"
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(other.to_dict()))
    with pytest.raises(AblationError, match=r"baseline-seed0/config\.json"):
        run_ablation(base, out, ["baseline"], 1)
    (root / "config.json").unlink()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(AblationError, match="not a trm run directory"):
        run_ablation(base, out, ["baseline"], 1)
    assert (root / "notes.txt").read_text() == "mine"


def test_a_study_from_before_a_setting_existed_still_matches(tmp_path: Path) -> None:
    # A field added later (at its default, which is the behaviour from before) is not a
    # difference: the study resumes; a field set otherwise still is.
    base, out = tiny_study(tmp_path), tmp_path / "study"
    out.mkdir()
    older = base.to_dict()
    del older["optim"]["optimizer"], older["model"]["halt_bias_init"]
    (out / "results.json").write_text(json.dumps({"version": 1, "config": older, "runs": []}))
    root = out / "runs" / "baseline-seed0"
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(older))
    modes: list[str] = []

    class Modes(Watcher):
        def planned(self, runs: list, found: list[str]) -> None:
            modes.extend(found)
            raise KeyboardInterrupt  # the plan is all this test needs

    with pytest.raises(KeyboardInterrupt):
        run_ablation(base, out, ["baseline"], 1, watcher=Modes())
    assert modes == ["restart"]  # its config matched: a run without a checkpoint starts over
    older["optim"]["optimizer"] = "muon"
    (root / "config.json").write_text(json.dumps(older))
    with pytest.raises(AblationError, match=r"optim.optimizer: 'muon' there, 'adam-atan2' here"):
        run_ablation(base, out, ["baseline"], 1)
