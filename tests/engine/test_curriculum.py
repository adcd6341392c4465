"""CGAR curriculum: the PDC depth table at chosen rho and the HSW weights equal their formulas."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from engine.config import CurriculumConfig, Stage
from engine.curriculum import (
    Depth,
    DepthSchedule,
    clue_targets,
    hsw_weights,
    row_weights,
    step_cost,
)

PAPER = CurriculumConfig(depth=True)  # default stages: (0.3, 2, 1), (0.6, 4, 2), (1.0, 6, 3)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, Depth(n=2, T=1, stage=1)),
        (299, Depth(n=2, T=1, stage=1)),  # rho = 0.299
        (300, Depth(n=4, T=2, stage=2)),  # rho = 0.3 exactly: the second stage begins
        (599, Depth(n=4, T=2, stage=2)),
        (600, Depth(n=6, T=3, stage=3)),  # rho = 0.6 exactly
        (999, Depth(n=6, T=3, stage=3)),  # the last step
        (1000, Depth(n=6, T=3, stage=3)),  # rho = 1.0 stays in the last stage
    ],
)
def test_paper_table(step: int, expected: Depth) -> None:
    assert DepthSchedule(PAPER, full_n=6, full_T=3).at(step, 1000) == expected


def test_boundaries_on_a_short_run() -> None:
    schedule = DepthSchedule(PAPER, full_n=6, full_T=3)
    assert [schedule.at(s, 10).stage for s in range(10)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
    assert [schedule.stage_start_step(i, 10) for i in (1, 2, 3)] == [0, 3, 6]


def test_stage_start_step_survives_float_rounding() -> None:
    # 0.55 * 100 = 55.00000000000001 in floats, so ceil() says 56; but rho = 55/100 is stage 2.
    cfg = CurriculumConfig(depth=True, stages=(Stage(0.55, 1, 1), Stage(1.0, 2, 1)))
    schedule = DepthSchedule(cfg, full_n=6, full_T=3)
    assert schedule.at(54, 100).stage == 1
    assert schedule.at(55, 100).stage == 2
    assert schedule.stage_start_step(2, 100) == 55


@pytest.mark.parametrize("total", [1, 2, 3, 7, 10, 97, 1000, 50_000])
def test_stage_start_step_agrees_with_at(total: int) -> None:
    schedule = DepthSchedule(PAPER, full_n=6, full_T=3)
    for stage in range(1, schedule.n_stages + 1):
        start = schedule.stage_start_step(stage, total)
        if start < total:
            assert schedule.at(start, total).stage == stage
        assert start == 0 or schedule.at(start - 1, total).stage < stage


def test_configured_stages_are_followed() -> None:
    cfg = CurriculumConfig(depth=True, stages=(Stage(0.5, 1, 1), Stage(1.0, 3, 2)))
    schedule = DepthSchedule(cfg, full_n=6, full_T=3)
    assert schedule.n_stages == 2
    assert schedule.at(4, 10) == Depth(n=1, T=1, stage=1)
    assert schedule.at(5, 10) == Depth(n=3, T=2, stage=2)


def test_depth_off_is_always_full_depth() -> None:
    schedule = DepthSchedule(CurriculumConfig(depth=False), full_n=5, full_T=4)
    assert schedule.n_stages == 1
    assert {schedule.at(s, 100) for s in range(101)} == {Depth(n=5, T=4, stage=1)}
    assert schedule.stage_start_step(1, 100) == 0
    with pytest.raises(ValueError, match=r"stage must be in 1\.\.1"):
        schedule.stage_start_step(2, 100)


def test_hsw_weights_equal_formula() -> None:
    weights = hsw_weights(16, 0.7)
    z = sum(0.7 ** (t - 1) for t in range(1, 17))
    assert len(weights) == 16
    for t, w in enumerate(weights, start=1):
        assert w == pytest.approx(0.7 ** (t - 1) / z, rel=1e-12)
    assert math.fsum(weights) == pytest.approx(1.0)
    assert weights[0] == pytest.approx(0.3 / (1 - 0.7**16))  # Z is a geometric sum
    assert all(a > b for a, b in itertools.pairwise(weights))


def test_hsw_lambda_one_is_uniform() -> None:
    assert hsw_weights(4, 1.0) == [0.25, 0.25, 0.25, 0.25]


@pytest.mark.parametrize(("n_sup", "lam"), [(0, 0.7), (16, 0.0), (16, 1.5)])
def test_hsw_rejects_bad_arguments(n_sup: int, lam: float) -> None:
    with pytest.raises(ValueError):
        hsw_weights(n_sup, lam)


def test_row_weights_per_row() -> None:
    weights = torch.tensor(hsw_weights(16, 0.7))
    steps = torch.tensor([1, 16, 3, 1, 8], dtype=torch.int32)
    got = row_weights(steps, weights)
    expected = torch.tensor([16 * weights[t - 1].item() for t in (1, 16, 3, 1, 8)])
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected)
    # Scaled by N_sup: mean 1 over the supervision steps.
    assert row_weights(torch.arange(1, 17), weights).mean().item() == pytest.approx(1.0)


def test_row_weights_rejects_step_zero() -> None:
    weights = torch.tensor(hsw_weights(4, 0.7))
    with pytest.raises(RuntimeError):
        row_weights(torch.tensor([0, 1]), weights)


def test_step_cost_counts_forward_cycles_and_the_last_cycle_backward() -> None:
    assert [step_cost(2, 1), step_cost(4, 2), step_cost(6, 3)] == [9, 20, 35]


@pytest.mark.parametrize(
    ("step", "total"), [(0, 100), (17, 100), (30, 100), (59, 100), (99, 100), (3, 7)]
)
def test_remaining_cost_is_the_sum_of_step_costs(step: int, total: int) -> None:
    schedule = DepthSchedule(CurriculumConfig(depth=True), full_n=6, full_T=3)
    expected = sum(
        step_cost(schedule.at(s, total).n, schedule.at(s, total).T) for s in range(step, total)
    )
    assert schedule.remaining_cost(step, total) == expected
    assert DepthSchedule(CurriculumConfig(), 6, 3).remaining_cost(step, total) == 35 * (
        total - step
    )


def test_clue_targets_fall_from_the_start_to_each_puzzles_own_count() -> None:
    on = CurriculumConfig(clues=True, clues_start=60, clues_until=0.5)
    givens = np.array([30, 45, 70])
    assert clue_targets(CurriculumConfig(), 0, 100, givens) is None  # off by default
    assert clue_targets(on, 0, 100, givens).tolist() == [60, 60, 70]  # never fewer than own
    assert clue_targets(on, 25, 100, givens).tolist() == [45, 53, 70]  # half way: ceil
    assert clue_targets(on, 49, 100, givens).tolist() == [31, 46, 70]
    assert clue_targets(on, 50, 100, givens) is None  # rho = clues_until: the data unchanged
