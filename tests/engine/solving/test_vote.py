"""Test-time augmentation: the identity view is plain solving; views map back; votes weigh right."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.solving.inference import solve
from engine.model import Carry, StepOutput
from engine.tta import _vote, solve_tta
from puzzles.parse import read_puzzles
from puzzles.solver import solve_batch
from tests.engine.test_inference import some_puzzles, tiny_trm

SAMPLES = Path(__file__).resolve().parents[2] / "puzzles" / "samples"


class OracleModel(torch.nn.Module):
    """Answers every puzzle it is shown with its exact solution, and halts at once."""

    def __init__(self) -> None:
        super().__init__()
        self.cfg = types.SimpleNamespace(n_sup=3, n_latent=1, n_cycles=1)
        self.register_buffer("y_init", torch.zeros(1))

    def initial_carry(self, batch_size: int) -> Carry:
        return Carry(y=torch.zeros(batch_size, 1, 1), z=torch.zeros(batch_size, 1, 1))

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


def test_one_view_is_plain_solving() -> None:
    model = tiny_trm()
    puzzles = some_puzzles(3)
    voted = solve_tta(model, puzzles, 1, np.random.default_rng(0), halt=False)
    plain = solve(model, puzzles, halt=False)
    assert np.array_equal(voted.grids, plain.final)
    assert np.array_equal(voted.plain.final, plain.final)
    assert np.allclose(voted.agreement, 1.0)
    assert voted.view_grids.shape == (3, 1, 81) and voted.halted_at.shape == (3, 1)


def test_views_map_back_to_the_solution() -> None:
    puzzles = sample_puzzles()
    truth = solve_batch(puzzles, limit=1).solutions
    for weight in ("confidence", "halt"):
        voted = solve_tta(OracleModel(), puzzles, 6, np.random.default_rng(3), weight=weight)
        # Each shuffled view was solved in its own frame; mapped back, every one is the solution.
        assert (voted.view_grids == truth[:, None, :]).all()
        assert np.array_equal(voted.grids, truth)
        assert np.allclose(voted.agreement, 1.0)
        assert (voted.halted_at == 1).all()


def test_the_same_generator_state_gives_the_same_vote() -> None:
    model = tiny_trm()
    puzzles = some_puzzles(2)
    first = solve_tta(model, puzzles, 3, np.random.default_rng(7), max_steps=2)
    again = solve_tta(model, puzzles, 3, np.random.default_rng(7), max_steps=2)
    assert np.array_equal(first.view_grids, again.view_grids)
    assert np.array_equal(first.grids, again.grids)
    other = solve_tta(model, puzzles, 3, np.random.default_rng(8), max_steps=2)
    # Different shuffles give the untrained model different inputs, hence other answers.
    assert not np.array_equal(first.view_grids[:, 1:], other.view_grids[:, 1:])


def test_vote_weighs_each_view() -> None:
    answers = np.ones((3, 1, 81), dtype=np.uint8)
    answers[2] = 2
    weights = np.full((3, 1, 81), 0.2)
    weights[2] = 0.9
    grids, agreement = _vote(answers, weights)
    assert (grids == 2).all()  # one sure view outweighs two unsure ones
    assert agreement[0] == pytest.approx(0.9 / 1.3)
    grids, agreement = _vote(answers, np.ones((3, 1, 81)))
    assert (grids == 1).all() and agreement[0] == pytest.approx(2 / 3)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="k"):
        solve_tta(OracleModel(), sample_puzzles(), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="weight"):
        solve_tta(OracleModel(), sample_puzzles(), 2, np.random.default_rng(0), weight="votes")
