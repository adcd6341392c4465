"""One training step: refill of halted rows, halting with exploration, HSW per row, the update."""

from __future__ import annotations

import contextlib

import pytest
import torch

from engine.curriculum import Depth, hsw_weights
from engine.model import TRM, Carry, StepOutput
from engine.optim import AdamATan2
from engine.presets import tiny
from engine.train_step import (
    StepSettings,
    TrainState,
    halting,
    initial_state,
    refill,
    stagger,
    train_step,
)

N_SUP = 4


def settings(exploration: float = 0.0, seed: int = 0) -> StepSettings:
    return StepSettings(
        n_sup=N_SUP,
        halt_exploration=exploration,
        halt_loss_weight=0.5,
        generator=torch.Generator().manual_seed(seed),
        autocast=contextlib.nullcontext,
    )


def model() -> TRM:
    torch.manual_seed(0)
    return TRM(tiny().model)


def hand_made_state(net: TRM) -> TrainState:
    """Four rows: 0 and 2 halted; distinct carries, steps and puzzles."""
    length, d = net.cfg.total_len, net.cfg.d
    fill = torch.arange(4, dtype=torch.float32).view(4, 1, 1) + 10
    return TrainState(
        carry=Carry(y=fill.expand(4, length, d).clone(), z=-fill.expand(4, length, d).clone()),
        steps=torch.tensor([4, 2, 3, 1], dtype=torch.int32),
        halted=torch.tensor([True, False, True, False]),
        tokens=torch.arange(4).view(4, 1).expand(4, 81) + 1,
        labels=torch.arange(4).view(4, 1).expand(4, 81) + 2,
        puzzle_ids=torch.zeros(4, dtype=torch.long),
    )


def test_refill_replaces_only_halted_rows() -> None:
    net = model()
    state = hand_made_state(net)
    new_tokens = torch.full((2, 81), 7)
    new_labels = torch.full((2, 81), 8)
    out = refill(net, state, new_tokens, new_labels)
    assert out.tokens[:, 0].tolist() == [7, 2, 7, 4]
    assert out.labels[:, 0].tolist() == [8, 3, 8, 5]
    assert out.steps.tolist() == [0, 2, 0, 1]
    assert not out.halted.any()
    init = net.initial_carry(1)
    for row in (0, 2):
        assert torch.equal(out.carry.y[row], init.y[0]) and torch.equal(out.carry.z[row], init.z[0])
    for row in (1, 3):
        assert torch.equal(out.carry.y[row], state.carry.y[row])
        assert torch.equal(out.carry.z[row], state.carry.z[row])


def test_halting_without_exploration() -> None:
    steps = torch.tensor([1, 2, 4, 3, 4], dtype=torch.int32)
    q_halt = torch.tensor([1.0, -1.0, -1.0, 0.0, 2.0])
    # q > 0 halts, q = 0 does not; step N_sup always halts.
    assert halting(steps, q_halt, settings()).tolist() == [True, False, True, False, True]


def test_exploration_holds_rows_back_with_a_seeded_generator() -> None:
    steps = torch.tensor([1, 2, 3, 4] * 50, dtype=torch.int32)
    q_halt = torch.ones(200)  # every halting head says "halt"
    halted = halting(steps, q_halt, settings(exploration=1.0, seed=3))
    generator = torch.Generator().manual_seed(3)
    torch.rand(200, generator=generator)  # the draws halting() makes, in its order
    min_steps = torch.randint(2, N_SUP + 1, (200,), generator=generator)
    assert torch.equal(halted, steps >= min_steps)
    assert not halted[steps == 1].any()  # a minimum is at least 2
    assert halted[steps == N_SUP].all()  # and at most N_sup
    assert not halted.all()
    again = halting(steps, q_halt, settings(exploration=1.0, seed=3))
    assert torch.equal(halted, again)
    partial = halting(steps, q_halt, settings(exploration=0.1, seed=3))
    assert 0 < int((~partial).sum()) < int((~halted).sum())


def test_steps_carry_and_forced_halt_over_a_puzzle_lifetime() -> None:
    net = model()
    optim = AdamATan2(net.parameters(), lr=1e-3)
    state = initial_state(net, 3, torch.device("cpu"))
    depth = Depth(n=1, T=1, stage=1)
    tokens = torch.randint(1, 11, (3, 81))
    before = [p.detach().clone() for p in net.parameters()]
    for step in range(1, N_SUP + 1):
        new = tokens if step == 1 else tokens[:0]
        result = train_step(net, net, state, new, new + 0, depth, [optim], None, settings())
        assert result.state.steps.tolist() == [step] * 3
        assert torch.equal(result.state.tokens, tokens)
        # Halting heads start at -5, so rows halt only when N_sup forces it.
        assert result.state.halted.tolist() == [step == N_SUP] * 3
        assert result.metrics[0].item() == (3 if step == N_SUP else 0)
        state = result.state
    assert result.metrics[4].item() == 3 * N_SUP  # steps at halting, summed
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    fresh = torch.randint(1, 11, (3, 81))
    result = train_step(net, net, state, fresh, fresh, depth, [optim], None, settings())
    assert result.state.steps.tolist() == [1, 1, 1] and torch.equal(result.state.tokens, fresh)


class ConstantForward(torch.nn.Module):
    """The same logits for every row, so that every row has the same unweighted loss."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.randn(81, 11))

    def forward(
        self, carry: Carry, tokens: torch.Tensor, puzzle_ids: torch.Tensor, n: int, T: int
    ) -> StepOutput:
        batch = tokens.shape[0]
        return StepOutput(
            carry=carry, logits=self.logits.expand(batch, 81, 11), q_halt=torch.zeros(batch)
        )


@pytest.mark.parametrize("steps_before", [[0, 0, 0, 0], [0, 1, 2, 3], [3, 3, 3, 3]])
def test_hsw_weights_each_row_by_its_own_step(steps_before: list[int]) -> None:
    net = model()
    forward = ConstantForward()
    state = hand_made_state(net)
    state.halted[:] = False
    state.labels = torch.full((4, 81), 5)  # the same answer in every row
    state.steps = torch.tensor(steps_before, dtype=torch.int32)
    optim = torch.optim.SGD(forward.parameters(), lr=0.0)

    def step(hsw: torch.Tensor | None) -> torch.Tensor:
        no_puzzles = state.tokens[:0]  # no row is halted, so none is refilled
        result = train_step(
            net, forward, state, no_puzzles, no_puzzles, Depth(1, 1, 1), [optim], hsw, settings()
        )
        return result.losses

    weights = torch.tensor(hsw_weights(N_SUP, 0.7))
    plain, weighted = step(None), step(weights)
    t = torch.tensor(steps_before) + 1
    factor = (N_SUP * weights[t - 1]).mean()
    assert weighted[0].item() == pytest.approx(plain[0].item() * factor.item(), rel=1e-5)


def test_stagger_fills_every_row_and_spreads_the_supervision_steps() -> None:
    net = model()
    n_sup = net.cfg.n_sup  # 4 in the tiny preset
    state = initial_state(net, 10, torch.device("cpu"))
    tokens = torch.arange(10).view(10, 1).expand(10, 81) % 9 + 2
    state = stagger(net, state, tokens, tokens, n_sup)
    assert not state.halted.any()
    assert torch.equal(state.tokens, tokens)
    assert state.steps.tolist() == [i % n_sup for i in range(10)]
    # Row i halts after n_sup - (i mod n_sup) steps: after one step, exactly the rows at n_sup - 1.
    steps = state.steps + 1
    halted = halting(steps, torch.full((10,), -5.0), settings())
    assert halted.tolist() == [i % n_sup == n_sup - 1 for i in range(10)]
