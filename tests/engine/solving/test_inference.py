"""Inference traces: halting (forced through the q_head bias), frozen rows, kept steps,
confidence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.model import TRM, Carry, StepOutput
from engine.presets import tiny
from engine.solving.inference import solve
from tests.engine.fake_trm import FakeTRM

N_SUP = 4  # the tiny preset's N_sup


def tiny_trm(halt_bias: float | None = None) -> TRM:
    """A fresh tiny TRM; ``halt_bias`` sets the halting logit of every row (q_head weight is 0)."""
    torch.manual_seed(0)
    model = TRM(tiny().model)
    if halt_bias is not None:
        with torch.no_grad():
            model.q_head.weight.zero_()
            model.q_head.bias[0] = halt_bias
    return model


def some_puzzles(n: int) -> np.ndarray:
    """``n`` distinct puzzle-shaped grids (rule-checking is not the model's business)."""
    rng = np.random.default_rng(1)
    grids = rng.integers(1, 10, size=(n, 81), dtype=np.uint8)
    grids[rng.random((n, 81)) < 0.6] = 0
    return grids


class ScriptedModel(FakeTRM):
    """Row with ``puzzle[0] == h`` halts at step h; at step t every cell's answer is digit t.

    Padding and "empty" get the largest logits, so only an argmax over the nine digit tokens
    picks digit t; its probability among the digits is 3 / (3 + 8) = 3/11.
    """

    def __init__(self) -> None:
        super().__init__(n_sup=N_SUP)
        self.rows_seen: list[int] = []

    def forward(
        self, carry: Carry, tokens: torch.Tensor, puzzle_ids: torch.Tensor, n: int, T: int
    ) -> StepOutput:
        self.rows_seen.append(tokens.shape[0])
        t = carry.y[:, 0, 0] + 1  # (b,) this step, per row
        logits = torch.zeros(tokens.shape[0], 81, 11)
        logits[..., :2] = 50.0
        digit_token = (t.long() + 1).view(-1, 1, 1).expand(-1, 81, 1)
        logits.scatter_(-1, digit_token, math.log(3.0))
        halt_step = (tokens[:, 0] - 1).float()  # the digit in cell 0
        q_halt = torch.where(t >= halt_step, 1.0, -1.0)
        y = carry.y + 1
        return StepOutput(carry=Carry(y=y, z=carry.z), logits=logits, q_halt=q_halt)


def scripted_puzzles(halt_steps: list[int]) -> np.ndarray:
    grids = np.zeros((len(halt_steps), 81), dtype=np.uint8)
    grids[:, 0] = halt_steps
    return grids


def test_positive_halt_bias_stops_every_row_at_step_one() -> None:
    result = solve(tiny_trm(halt_bias=10.0), some_puzzles(3))
    assert result.halted_at.tolist() == [1, 1, 1]
    assert result.grids.shape == (3, 1, 81) and result.q_halt_logit.shape == (3, 1)
    assert np.allclose(result.q_halt_logit, 10.0)
    assert np.array_equal(result.final, result.grids[:, 0])


def test_negative_halt_bias_runs_all_steps() -> None:
    result = solve(tiny_trm(halt_bias=-10.0), some_puzzles(3))
    assert result.halted_at.tolist() == [N_SUP] * 3
    assert result.grids.shape == (3, N_SUP, 81)


def test_no_halt_ignores_the_halting_head() -> None:
    model = tiny_trm(halt_bias=10.0)
    result = solve(model, some_puzzles(2), halt=False)
    assert result.halted_at.tolist() == [N_SUP, N_SUP]
    assert result.grids.shape == (2, N_SUP, 81)
    assert solve(model, some_puzzles(2), halt=False, max_steps=2).halted_at.tolist() == [2, 2]


def test_answers_are_digits_with_givens_not_overwritten() -> None:
    result = solve(tiny_trm(), some_puzzles(4), halt=False)
    assert result.grids.min() >= 1 and result.grids.max() <= 9
    assert ((result.confidence >= 1 / 9 - 1e-6) & (result.confidence <= 1)).all()
    assert result.confidence.dtype == np.float32 and result.q_halt_logit.dtype == np.float32


def test_halted_rows_freeze_and_leave_the_batch() -> None:
    model = ScriptedModel()
    result = solve(model, scripted_puzzles([2, 4, 1, 9]))
    # Row 3 never halts (its step 9 is past N_SUP): it runs all 4 steps.
    assert result.halted_at.tolist() == [2, 4, 1, N_SUP]
    assert model.rows_seen == [4, 3, 2, 2]  # rows that halted are not run again
    assert result.grids.shape == (4, N_SUP, 81)
    for row, h in enumerate(result.halted_at):
        shown = result.grids[row, :, 0].tolist()
        assert shown == [min(t, h) for t in range(1, N_SUP + 1)]  # frozen from step h on
        assert (result.q_halt_logit[row, h - 1 :] == result.q_halt_logit[row, h - 1]).all()
        assert (result.final[row] == h).all()
    assert np.allclose(result.confidence, 3 / 11)


def test_the_loop_ends_when_every_row_halted() -> None:
    model = ScriptedModel()
    result = solve(model, scripted_puzzles([2, 1]))
    assert model.rows_seen == [2, 1]
    assert result.grids.shape == (2, 2, 81)  # S = max(halted_at)


def test_keep_steps_false_keeps_only_the_final_step() -> None:
    puzzles = scripted_puzzles([2, 4, 1, 3])
    full = solve(ScriptedModel(), puzzles)
    final = solve(ScriptedModel(), puzzles, keep_steps=False)
    assert final.grids.shape == (4, 1, 81) and final.q_halt_logit.shape == (4, 1)
    assert np.array_equal(final.halted_at, full.halted_at)
    assert np.array_equal(final.final, full.final)
    assert np.array_equal(final.grids[:, 0], full.grids[:, -1])
    assert np.array_equal(final.q_halt_logit[:, 0], full.q_halt_logit[:, -1])


def test_small_batches_give_the_same_traces() -> None:
    puzzles = scripted_puzzles([3, 1, 2, 4, 1])
    whole = solve(ScriptedModel(), puzzles, batch_size=8)
    parts = solve(ScriptedModel(), puzzles, batch_size=2)
    for field in ("grids", "confidence", "q_halt_logit", "halted_at", "final"):
        assert np.array_equal(getattr(whole, field), getattr(parts, field)), field


def test_real_model_batches_agree_and_training_mode_is_restored() -> None:
    model = tiny_trm()
    model.train()
    puzzles = some_puzzles(5)
    whole = solve(model, puzzles, halt=False)
    parts = solve(model, puzzles, halt=False, batch_size=2)
    assert model.training
    assert np.array_equal(whole.grids, parts.grids)
    assert np.allclose(whole.confidence, parts.confidence, atol=1e-5)


def test_progress_reports_each_batch() -> None:
    seen: list[int] = []
    solve(ScriptedModel(), scripted_puzzles([1] * 5), batch_size=2, progress=seen.append)
    assert seen == [2, 2, 1]


def test_empty_input_and_bad_arguments() -> None:
    empty = solve(ScriptedModel(), np.zeros((0, 81), dtype=np.uint8))
    assert empty.halted_at.shape == (0,) and empty.final.shape == (0, 81)
    with pytest.raises(ValueError, match="shape"):
        solve(ScriptedModel(), np.zeros(81, dtype=np.uint8))
    with pytest.raises(ValueError, match="max_steps"):
        solve(ScriptedModel(), scripted_puzzles([1]), max_steps=0)
    with pytest.raises(ValueError, match="digits"):
        solve(ScriptedModel(), np.full((1, 81), 10))
