"""Sampled solving: one sample is plain solving; early exit removes rows and spends what the
bench prices; a valid pick is the solution; noise leaves sample 1 alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model import Carry, StepOutput
from engine.solving.inference import solve
from engine.solving.sampling import selected, solve_samples
from puzzles.grid import N_CELLS
from puzzles.solver import solve_batch
from tests.engine.fake_trm import FakeTRM
from tests.engine.solving.test_inference import ScriptedModel, some_puzzles, tiny_trm
from tests.engine.solving.test_vote import sample_puzzles

MAX_STEPS = 4
# A complete grid that obeys the rules; it keeps no puzzle's givens.
CANONICAL = np.array(
    [(3 * (r % 3) + r // 3 + c) % 9 + 1 for r in range(9) for c in range(9)], dtype=np.uint8
)


class LateOracle(FakeTRM):
    """Each view gets its own schedule from its first two cells: it answers the canonical grid
    (rule-abiding, givens broken) until step ``v``, then the exact solution; its halting head fires
    at step ``h``. Records the rows of every forward call."""

    def __init__(self) -> None:
        super().__init__(n_sup=MAX_STEPS)
        self.rows_seen: list[int] = []

    def forward(
        self, carry: Carry, tokens: torch.Tensor, puzzle_ids: torch.Tensor, n: int, T: int
    ) -> StepOutput:
        self.rows_seen.append(tokens.shape[0])
        t = carry.y[:, 0, 0] + 1
        shown = (tokens - 1).numpy().astype(np.uint8)
        solutions = torch.from_numpy(solve_batch(shown, limit=1).solutions.astype(np.int64))
        h = 1 + tokens[:, 0] % 3
        v = 1 + tokens[:, 1] % 4
        answer = torch.where((t >= v)[:, None], solutions, torch.from_numpy(CANONICAL).long())
        logits = 5 * torch.nn.functional.one_hot(answer + 1, 11).float()
        q_halt = torch.where(t >= h, 1.0, -1.0)
        carry = Carry(y=carry.y + 1, z=carry.z)
        return StepOutput(carry=carry, logits=logits, q_halt=q_halt)


def test_one_sample_with_halt_first_is_plain_solving() -> None:
    puzzles = some_puzzles(6)
    puzzles[:, 0] = [1, 2, 3, 4, 2, 1]  # ScriptedModel halts at step puzzle[0]
    for model, halt in ((ScriptedModel(), True), (tiny_trm(), False)):
        plain = solve(model, puzzles, halt=halt, batch_size=4)
        sampled = solve_samples(
            model,
            puzzles,
            1,
            np.random.default_rng(0),
            rule="halt-first",
            halt=halt,
            batch_size=4,
            keep_steps=True,
        )
        trace = sampled.selected_trace()
        for field in ("grids", "confidence", "q_halt_logit", "halted_at", "final"):
            assert np.array_equal(getattr(trace, field), getattr(plain, field)), field
        assert np.array_equal(sampled.answers, plain.final)
        assert np.array_equal(sampled.steps_spent, plain.halted_at)


@pytest.mark.parametrize("rule", ["halt-first", "valid", "vote"])
def test_early_exit_spends_what_the_full_run_prices(rule: str) -> None:
    puzzles = sample_puzzles()
    k = 4
    model = LateOracle()
    early = solve_samples(model, puzzles, k, np.random.default_rng(5), rule=rule, batch_size=8)
    early_rows = sum(model.rows_seen)
    model.rows_seen.clear()
    full = solve_samples(
        model, puzzles, k, np.random.default_rng(5), rule=rule, early_exit=False, batch_size=8
    )
    priced = selected(puzzles, rule, full.rows, full.records, full.transform, priced=True)
    assert np.array_equal(early.answers, priced.answers)
    assert np.array_equal(early.selected, priced.selected)
    assert np.array_equal(early.steps_spent, priced.steps_spent)
    assert early.steps_spent.sum() == early_rows  # every row-step run is counted, once
    if rule != "vote":
        # Rows left the batch: far fewer row-steps than K x max steps, and fewer than the full run.
        assert early_rows < sum(model.rows_seen) < len(puzzles) * k * MAX_STEPS


def test_a_valid_pick_is_the_solution() -> None:
    puzzles = sample_puzzles()
    truth = solve_batch(puzzles, limit=2)
    assert (truth.n_solutions == 1).all()
    sampled = solve_samples(LateOracle(), puzzles, 3, np.random.default_rng(2), rule="valid")
    picked = sampled.valid[np.arange(len(puzzles)), sampled.selected]
    assert picked.all()  # every puzzle had a sample reach the solution within MAX_STEPS
    assert np.array_equal(sampled.answers, truth.solutions)
    # The canonical grid obeys the rules but not the givens: never counted as valid.
    assert not (sampled.sample_answers == CANONICAL).all(-1)[sampled.valid].any()


def test_noise_perturbs_every_sample_but_the_first() -> None:
    puzzles = some_puzzles(2)
    options = {"halt": False, "max_steps": 2, "keep_steps": True}
    quiet = solve_samples(tiny_trm(), puzzles, 3, np.random.default_rng(4), rule="vote", **options)
    noisy = solve_samples(
        tiny_trm(), puzzles, 3, np.random.default_rng(4), rule="vote", noise=0.5, **options
    )
    rows = quiet.rows
    first = np.arange(2) * 3
    assert np.array_equal(noisy.rows.confidence[first], rows.confidence[first])
    others = np.setdiff1d(np.arange(6), first)
    assert not np.allclose(noisy.rows.confidence[others], rows.confidence[others])
    again = solve_samples(
        tiny_trm(), puzzles, 3, np.random.default_rng(4), rule="vote", noise=0.5, **options
    )
    assert np.array_equal(again.rows.confidence, noisy.rows.confidence)


def test_traces_are_mapped_back_to_the_puzzle() -> None:
    puzzles = sample_puzzles()
    sampled = solve_samples(
        LateOracle(), puzzles, 3, np.random.default_rng(1), rule="valid", keep_steps=True
    )
    for i in range(len(puzzles)):
        for j in range(3):
            trace = sampled.sample_trace(i, j)
            assert np.array_equal(trace.puzzles[0], puzzles[i])
            assert np.array_equal(trace.final[0], sampled.sample_answers[i, j])
            assert trace.grids.shape[2] == N_CELLS


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="k"):
        solve_samples(LateOracle(), sample_puzzles(), 0, np.random.default_rng(0), rule="valid")
    with pytest.raises(ValueError, match="noise"):
        solve_samples(
            LateOracle(), sample_puzzles(), 2, np.random.default_rng(0), rule="valid", noise=-1
        )
    with pytest.raises(ValueError, match="rule"):
        solve_samples(LateOracle(), sample_puzzles(), 2, np.random.default_rng(0), rule="best")
