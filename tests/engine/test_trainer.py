"""The training loop: it learns, writes every event kind per DESIGN.md, and ends cleanly on NaN
and on interrupts, keeping a usable checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import engine.train_step
from engine.checkpoint import load_checkpoint
from engine.config import RunConfig, apply_overrides, tiny, with_cgar
from engine.data import Sampler
from engine.events import MemorySink, validate_event
from engine.run_dir import RunPaths, create_run_dir
from engine.trainer import train
from tests.engine.test_data import write_puzzles


def tiny_run(
    tmp_path: Path, *overrides: str, n: int = 24, blanks: int = 30
) -> tuple[RunConfig, Path]:
    data = write_puzzles(tmp_path / "puzzles.csv", n, blanks=blanks)
    cfg = apply_overrides(with_cgar(tiny()), [f"data.path={data}", *overrides])
    create_run_dir(tmp_path / "run", cfg)
    return cfg, tmp_path / "run"


@pytest.mark.slow
def test_tiny_model_overfits_a_handful_of_puzzles(tmp_path: Path) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 4, blanks=2)
    overrides = [
        f"data.path={data},{data}",
        "data.augment=none",
        "train.max_steps=100",
        "train.batch_size=4",
        "optim.lr=3e-3",
        "train.log_every=10",
        "train.eval_every=20",
    ]
    cfg = apply_overrides(tiny(), overrides)
    create_run_dir(tmp_path / "run", cfg)
    sink = MemorySink()
    summary = train(cfg, tmp_path / "run", sink)
    assert summary.reason == "finished" and summary.step == 100
    evals = sink.of_kind("eval")
    assert evals[0]["exact_accuracy"] == 0.0
    assert evals[-1]["exact_accuracy"] >= 0.75
    losses = [e["lm_loss"] for e in sink.of_kind("train")]
    assert losses[-1] < 0.5 * losses[0]


def test_events_have_the_design_fields(tmp_path: Path) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=6", "train.eval_every=3")
    sink = MemorySink()
    summary = train(cfg, run_dir, sink)
    assert summary.reason == "finished"
    kinds = [e["kind"] for e in sink.events]
    for kind in ("run_start", "train", "stage", "eval", "checkpoint", "run_end"):
        assert kind in kinds, kind
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    for event in sink.events:
        assert validate_event(event) == [], event
    train_events = sink.of_kind("train")
    assert [e["step"] for e in train_events] == [1, 2, 3, 4, 5, 6]
    assert all(sum(e["steps_histogram"]) == cfg.train.batch_size for e in train_events)
    assert all(len(e["hsw_weights"]) == cfg.model.n_sup for e in train_events)
    assert [e["stage"] for e in sink.of_kind("stage")] == [1, 2, 3]
    assert sink.of_kind("run_start")[0]["total_steps"] == 6
    paths = RunPaths(run_dir)
    assert paths.latest.is_file() and paths.best.is_file()
    assert [p.name for p in paths.step_files()] == ["step-3.pt", "step-6.pt"]
    assert load_checkpoint(paths.latest)["step"] == 6


def test_old_step_files_are_pruned(tmp_path: Path) -> None:
    cfg, run_dir = tiny_run(
        tmp_path, "train.max_steps=5", "train.eval_every=1", "train.log_every=5"
    )
    train(cfg, run_dir, MemorySink())
    assert [p.name for p in RunPaths(run_dir).step_files()] == [
        "step-3.pt",
        "step-4.pt",
        "step-5.pt",
    ]


def test_non_finite_loss_fails_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=8", "train.eval_every=2")
    real = engine.train_step.step_loss
    calls = []

    def poisoned(*args: object, **kwargs: object) -> object:
        calls.append(1)
        losses = real(*args, **kwargs)
        if len(calls) == 5:
            losses.loss = losses.loss * float("nan")
        return losses

    monkeypatch.setattr(engine.train_step, "step_loss", poisoned)
    sink = MemorySink()
    summary = train(cfg, run_dir, sink)
    assert summary.reason == "failed" and summary.step == 5
    end = sink.events[-1]
    assert end["kind"] == "run_end" and end["reason"] == "failed" and "non-finite" in end["message"]
    latest = load_checkpoint(RunPaths(run_dir).latest)
    assert latest["step"] == 4
    assert all(torch.isfinite(v).all() for v in latest["model"].values())


def test_stop_request_checkpoints_and_reports_interrupted(tmp_path: Path) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=8", "train.eval_every=100")
    sink = MemorySink()
    polls = []  # stop() is polled once after every step

    def stop() -> bool:
        polls.append(1)
        return len(polls) >= 3

    summary = train(cfg, run_dir, sink, stop=stop)
    assert summary.reason == "interrupted" and summary.step == 3
    assert sink.events[-1]["reason"] == "interrupted"
    assert load_checkpoint(RunPaths(run_dir).latest)["step"] == 3


def test_keyboard_interrupt_between_steps_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=8", "train.eval_every=100")
    real = Sampler.draw
    calls = []

    def draw(self: Sampler, k: int) -> object:
        calls.append(k)
        if len(calls) == 4:  # the first draw fills the staggered batch; the 4th is step 3's
            raise KeyboardInterrupt
        return real(self, k)

    monkeypatch.setattr(Sampler, "draw", draw)
    sink = MemorySink()
    summary = train(cfg, run_dir, sink)
    assert summary.reason == "interrupted" and summary.step == 2
    assert sink.events[-1]["kind"] == "run_end" and sink.events[-1]["reason"] == "interrupted"
    assert load_checkpoint(RunPaths(run_dir).latest)["step"] == 2


def test_unexpected_error_is_reported_and_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=4")

    def broken(self: Sampler, k: int) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Sampler, "draw", broken)
    sink = MemorySink()
    with pytest.raises(RuntimeError, match="disk on fire"):
        train(cfg, run_dir, sink)
    assert sink.events[-1]["reason"] == "failed" and "disk on fire" in sink.events[-1]["message"]
