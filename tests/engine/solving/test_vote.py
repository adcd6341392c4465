"""The cell vote over samples: every view maps back; a sure sample outweighs unsure ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.model import Carry, StepOutput
from engine.solving.sampling import solve_samples
from engine.solving.vote import vote
from puzzles.parse import read_puzzles
from puzzles.solver import solve_batch
from tests.engine.fake_trm import FakeTRM

SAMPLES = Path(__file__).resolve().parents[3] / "puzzles" / "samples"


class OracleModel(FakeTRM):
    """Answers every puzzle it is shown with its exact solution, and halts at once."""

    def __init__(self) -> None:
        super().__init__(n_sup=3)

    def forward(
        self, carry: Carry, tokens: torch.Tensor, puzzle_ids: torch.Tensor, n: int, T: int
    ) -> StepOutput:
        shown = (tokens - 1).numpy().astype(np.uint8)  # token ids back to digits
        solutions = solve_batch(shown, limit=1).solutions
        logits = torch.nn.functional.one_hot(torch.from_numpy(solutions + 1).long(), 11).float()
        q_halt = torch.ones(tokens.shape[0])
        return StepOutput(carry=carry, logits=5 * logits, q_halt=q_halt)


def sample_puzzles() -> np.ndarray:
    return np.stack([p.grid for p in read_puzzles(SAMPLES / "easy.txt")])


def test_views_map_back_to_the_solution() -> None:
    puzzles = sample_puzzles()
    truth = solve_batch(puzzles, limit=1).solutions
    voted = solve_samples(OracleModel(), puzzles, 6, np.random.default_rng(3), rule="vote")
    # Each shuffled view was solved in its own frame; mapped back, every one is the solution.
    assert (voted.sample_answers == truth[:, None, :]).all()
    assert np.array_equal(voted.answers, truth)
    assert np.allclose(voted.agreement, 1.0)
    assert (voted.halted_at == 1).all() and (voted.selected == -1).all()


def test_vote_weighs_each_sample() -> None:
    answers = np.ones((1, 3, 81), dtype=np.uint8)
    answers[:, 2] = 2
    weights = np.full((1, 3, 81), 0.2)
    weights[:, 2] = 0.9
    grids, agreement = vote(answers, weights)
    assert (grids == 2).all()  # one sure sample outweighs two unsure ones
    assert agreement[0] == pytest.approx(0.9 / 1.3)
    grids, agreement = vote(answers, np.ones((1, 3, 81)))
    assert (grids == 1).all() and agreement[0] == pytest.approx(2 / 3)
