"""The training loop: it learns, writes every event kind per DESIGN.md, and ends cleanly on NaN
and on interrupts, keeping a usable checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import engine.train_step
import engine.trainer
from engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from engine.config import RunConfig, apply_overrides
from engine.data import Sampler
from engine.events import MemorySink, validate_event
from engine.optim import EMA
from engine.presets import tiny, with_cgar
from engine.run_dir import RunDirError, RunPaths, create_run_dir, lock_run_dir
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


def test_weights_made_infinite_by_the_update_are_never_saved(tmp_path: Path) -> None:
    # A finite but absurd learning rate: the first update makes the weights inf, the loss of
    # that step (computed before the update) is still finite.
    cfg, run_dir = tiny_run(
        tmp_path, "train.max_steps=4", "optim.lr=1e38", "optim.lr_warmup_steps=0"
    )
    sink = MemorySink()
    summary = train(cfg, run_dir, sink)
    assert summary.reason == "failed" and summary.step == 1
    assert summary.message == (
        "the weights became non-finite at step 1; no checkpoint was saved (none exists yet)"
    )
    assert sink.events[-1]["kind"] == "run_end" and sink.events[-1]["reason"] == "failed"
    assert sink.of_kind("checkpoint") == []
    assert list(RunPaths(run_dir).checkpoints.iterdir()) == []


@pytest.mark.parametrize("where", ["model", "ema"])
def test_non_finite_weights_keep_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    cfg, run_dir = tiny_run(
        tmp_path, "train.max_steps=8", "train.eval_every=100", "train.checkpoint_every=2"
    )
    real = EMA.update
    calls = []

    def poisoned(self: EMA, model: torch.nn.Module) -> None:
        real(self, model)
        calls.append(1)
        if len(calls) == 4:  # after the 4th step's update, before its checkpoint
            weights = self._averaged if where == "ema" else dict(model.named_parameters())
            with torch.no_grad():
                next(iter(weights.values())).view(-1)[0] = float("inf")

    monkeypatch.setattr(EMA, "update", poisoned)
    sink = MemorySink()
    summary = train(cfg, run_dir, sink)
    assert summary.reason == "failed" and summary.step == 4
    assert summary.message == (
        "the weights became non-finite at step 4; the last good checkpoint (step 2) is kept"
    )
    assert [e["step"] for e in sink.of_kind("checkpoint")] == [2]
    latest = load_checkpoint(RunPaths(run_dir).latest)
    assert latest["step"] == 2
    assert all(torch.isfinite(v).all() for v in latest["ema"]["averaged"].values())


def test_out_of_memory_during_a_run_fails_with_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, run_dir = tiny_run(
        tmp_path, "train.max_steps=6", "train.eval_every=3", "train.checkpoint_every=2"
    )

    def greedy(*args: object, **kwargs: object) -> None:
        torch.empty(2**62, dtype=torch.bool)  # a real allocation failure, raised by torch

    monkeypatch.setattr(engine.trainer, "evaluate", greedy)
    sink = MemorySink()
    summary = train(cfg, run_dir, sink)
    assert summary.reason == "failed" and summary.step == 3
    assert summary.message == (
        "out of memory at step 3 (tried to allocate 4.0 EiB); "
        "the last good checkpoint (step 2) is kept"
    )
    assert sink.events[-1]["reason"] == "failed"
    assert load_checkpoint(RunPaths(run_dir).latest)["step"] == 2


@pytest.mark.parametrize(
    ("interrupt_at", "message"),
    [
        (1, "interrupted at step 0; no checkpoint was saved (none exists yet)"),
        (4, "interrupted at step 3; the last good checkpoint (step 2) is kept"),
    ],
)
def test_an_interrupt_within_a_step_says_which_checkpoint_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt_at: int, message: str
) -> None:
    cfg, run_dir = tiny_run(
        tmp_path, "train.max_steps=8", "train.eval_every=100", "train.checkpoint_every=2"
    )
    real = engine.trainer.train_step
    calls = []

    def interrupted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == interrupt_at:  # a second Ctrl-C lands in the middle of a step
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.trainer, "train_step", interrupted)
    sink = MemorySink()
    summary = train(cfg, run_dir, sink)
    assert summary.reason == "interrupted" and summary.message == message
    end = sink.events[-1]
    assert end["kind"] == "run_end" and end["reason"] == "interrupted" and end["message"] == message
    steps = [e["step"] for e in sink.of_kind("checkpoint")]
    assert steps == ([] if interrupt_at == 1 else [2])


def test_a_stop_request_that_says_why_is_quoted(tmp_path: Path) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=8", "train.eval_every=100")
    sink = MemorySink()
    summary = train(cfg, run_dir, sink, stop=lambda: "terminated by SIGTERM")
    assert summary.reason == "interrupted" and summary.step == 1
    assert summary.message == "terminated by SIGTERM at step 1 of 8; checkpoint saved"
    assert load_checkpoint(RunPaths(run_dir).latest)["step"] == 1


def test_a_run_directory_in_use_is_refused_before_any_event(tmp_path: Path) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=2")
    sink = MemorySink()
    holder = rf"in use by pid {os.getpid()} on host"
    with lock_run_dir(RunPaths(run_dir)), pytest.raises(RunDirError, match=holder):
        train(cfg, run_dir, sink)
    assert sink.events == []
    assert train(cfg, run_dir, sink).reason == "finished"  # released: usable again


def test_a_resume_from_an_unusable_checkpoint_writes_no_event(tmp_path: Path) -> None:
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=2")
    save_checkpoint(RunPaths(run_dir).latest, {"step": 1, "model": {}})  # not a training state
    sink = MemorySink()
    with pytest.raises(CheckpointError, match=r"latest\.pt: not a training checkpoint"):
        train(cfg, run_dir, sink, resume=True)
    assert sink.events == []


def test_a_checkpoint_of_non_finite_weights_is_not_resumed(tmp_path: Path) -> None:
    # Such files were written before trm refused to save them.
    cfg, run_dir = tiny_run(tmp_path, "train.max_steps=2")
    train(cfg, run_dir, MemorySink())
    latest = RunPaths(run_dir).latest
    state = load_checkpoint(latest)
    next(iter(state["model"].values())).view(-1)[0] = float("nan")
    latest.unlink()  # a hard link to step-2.pt: replace it, not the step file
    save_checkpoint(latest, state)
    sink = MemorySink()
    with pytest.raises(CheckpointError, match=r"latest\.pt: holds non-finite weights"):
        train(cfg, run_dir, sink, resume=True)
    assert sink.events == []


def test_the_clue_curriculum_reveals_givens_early_and_none_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 30 blanks: 51 givens. Start at 81 (everything revealed), back to the data by rho = 0.5.
    cfg, run_dir = tiny_run(
        tmp_path,
        "train.max_steps=8",
        "curriculum.clues=true",
        "curriculum.clues_start=81",
        "curriculum.clues_until=0.5",
        "train.stagger_start=false",
    )
    empty: list[list[int]] = []  # per step: the empty cells of each puzzle drawn for it
    real = engine.trainer.train_step

    def spy(model, forward, state, tokens, labels, *rest):
        empty.append((tokens == 1).sum(dim=1).tolist())  # token 1 = empty cell (DESIGN.md)
        return real(model, forward, state, tokens, labels, *rest)

    monkeypatch.setattr(engine.trainer, "train_step", spy)
    assert train(cfg, run_dir, MemorySink()).reason == "finished"
    assert len(empty) == 8 and empty[0] and set(empty[0]) == {0}  # step 0: every cell given
    assert all(0 < e < 30 for e in empty[2])  # step 2 (rho 0.25): half way back
    late = [e for step in empty[4:] for e in step]  # rho >= 0.5: the data's own puzzles
    assert late and set(late) == {30}
