"""RunHistory folds the event stream (DESIGN.md table) into what the training view draws."""

from __future__ import annotations

import json

import pytest

from trm_tui.dashboard.history import RunHistory, effective_depth

from .helpers import FIXTURE_RUN, fixture_lines


def _history(n_lines: int | None = None) -> RunHistory:
    config = json.loads((FIXTURE_RUN / "config.json").read_text())
    history = RunHistory(config)
    for line in fixture_lines()[:n_lines]:
        history.add(json.loads(line))
    return history


def test_a_finished_run_replays_into_series_stages_and_best() -> None:
    history = _history()
    kinds = [json.loads(line)["kind"] for line in fixture_lines()]
    assert len(history.train["loss"].steps) == kinds.count("train")
    assert history.eval["exact_accuracy"].steps == [125, 250, 375, 500, 625]
    assert [(m.step, m.stage, m.n, m.T) for m in history.stages] == [
        (0, 1, 2, 1),
        (188, 2, 4, 2),
        (375, 3, 6, 3),
    ]
    assert history.run_end["reason"] == "finished"
    assert history.total_steps == 625 and history.step == 625
    assert history.best_exact == 0.0
    assert history.last_checkpoint["is_best"] is True


def test_planned_stage_starts_agree_with_the_trainers_stage_events() -> None:
    history = _history()
    planned = history.planned_stages()
    assert [(s.start, s.end) for s in planned] == [(0, 188), (188, 375), (375, 625)]
    assert [s.start for s in planned] == [m.step for m in history.stages]


def test_weights_from_events_equal_the_hsw_formula() -> None:
    history = _history()
    expected = [0.7 ** (t - 1) for t in range(1, 17)]
    expected = [w / sum(expected) for w in expected]
    assert history.supervision_weights() == pytest.approx(expected)
    assert history.rows_per_step() == history.last_train["steps_histogram"]


def test_weights_without_events_come_from_the_config() -> None:
    config = json.loads((FIXTURE_RUN / "config.json").read_text())
    assert RunHistory(config).supervision_weights()[0] == pytest.approx(0.3 / (1 - 0.7**16))
    config["curriculum"]["hsw"] = False
    flat = RunHistory(config).supervision_weights()
    assert flat == [1 / 16] * 16


def test_depth_curriculum_off_is_one_full_depth_stage() -> None:
    config = json.loads((FIXTURE_RUN / "config.json").read_text())
    config["curriculum"]["depth"] = False
    history = RunHistory(config)
    history.add({"kind": "run_start", "step": 0, "time": 1.0, "total_steps": 100, "config": config})
    assert [(s.n, s.T, s.start, s.end) for s in history.planned_stages()] == [(6, 3, 0, 100)]


def test_bad_fields_and_unknown_kinds_are_ignored() -> None:
    history = RunHistory()
    history.add({"kind": "train", "step": 5, "time": 1.0, "loss": "high", "lr": None})
    history.add({"kind": "train", "step": "x", "time": "y", "loss": 1.5, "depth": [1]})
    history.add({"kind": "something_new", "step": 9, "time": 2.0, "whatever": {}})
    assert history.train["loss"].values == [1.5]
    assert history.train["loss"].steps == [5]  # a bad step keeps the last good one
    assert history.step == 9 and history.current_stage is None
    assert history.n_events == 3


def test_effective_depth_is_the_papers() -> None:
    assert effective_depth(6, 3, 2) == 42  # TRM: T (n + 1) n_layers
