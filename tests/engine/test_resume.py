"""N steps, a stop, a resume and M more steps equal N + M uninterrupted steps, bit for bit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from engine.checkpoint import load_checkpoint
from engine.config import apply_overrides
from engine.events import MemorySink
from engine.presets import tiny, with_cgar
from engine.run_dir import RunPaths, create_run_dir
from engine.trainer import train
from tests.engine.test_data import write_puzzles


def assert_same(a: Any, b: Any, where: str = "state") -> None:
    """Nested dicts/lists of tensors and plain values are exactly equal."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        assert a == b, where


@pytest.mark.parametrize(
    "levers",
    [[], ["optim.optimizer=muon", "curriculum.clues=true", "model.halt_bias_init=-3"]],
    ids=["reference", "muon-clues-halt3"],
)
def test_resume_equals_an_uninterrupted_run(tmp_path: Path, levers: list[str]) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    # CGAR crosses two depth stages; EMA, fresh augmentation and halting exploration are on.
    # The levers add Muon's state and the clue curriculum's revealed cells to what must resume.
    cfg = apply_overrides(
        with_cgar(tiny()),
        [
            f"data.path={data}",
            "train.max_steps=9",
            "train.eval_every=4",
            "optim.ema=0.9",
            "train.halt_exploration=0.5",
            *levers,
        ],
    )
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    create_run_dir(straight, cfg)
    create_run_dir(broken, cfg)
    straight_events = MemorySink()
    assert train(cfg, straight, straight_events).reason == "finished"

    first = MemorySink()
    polls = []  # stop() is polled once after every step

    def stop() -> bool:
        polls.append(1)
        return len(polls) >= 5

    summary = train(cfg, broken, first, stop=stop)
    assert summary.reason == "interrupted" and summary.step == 5
    second = MemorySink()
    assert train(cfg, broken, second, resume=True).reason == "finished"
    assert second.of_kind("run_start")[0]["step"] == 5

    a = load_checkpoint(RunPaths(straight).latest)
    b = load_checkpoint(RunPaths(broken).latest)
    assert a["step"] == b["step"] == 9
    for key in ("model", "ema", "optimizers", "ranks", "rng", "stage", "best_score"):
        assert_same(a[key], b[key], key)
    losses = [e["loss"] for e in straight_events.of_kind("train")]
    resumed = [e["loss"] for e in first.of_kind("train") + second.of_kind("train")]
    assert losses == resumed
    assert [e["exact_accuracy"] for e in straight_events.of_kind("eval")][-1] == (
        second.of_kind("eval")[-1]["exact_accuracy"]
    )
