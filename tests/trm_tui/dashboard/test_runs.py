"""Run discovery and the running / finished / interrupted / failed / stale decision."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from trm_tui.dashboard.runs import STALE_AFTER_S, RunIndex, decide_state, pid_alive, run_kind

from .helpers import copy_run


def _age(run: Path, seconds: float) -> None:
    then = time.time() - seconds
    for name in ("config.json", "events.jsonl"):
        os.utime(run / name, (then, then))


def test_a_runs_folder_lists_each_run_with_its_figures(tmp_path: Path) -> None:
    copy_run(tmp_path, "done")
    copy_run(tmp_path, "going", n_lines=5)
    (tmp_path / "not-a-run").mkdir()
    runs = {r.name: r for r in RunIndex(tmp_path).scan()}
    assert set(runs) == {"done", "going"}
    done = runs["done"]
    assert (done.state, done.step, done.total_steps, done.preset, done.kind) == (
        "finished",
        625,
        625,
        "cpu",
        "cgar",
    )
    assert done.best_exact == 0.0
    assert runs["going"].state == "running"  # just written, no run_end
    assert runs["going"].best_exact is None


def test_a_quiet_run_without_run_end_is_stale(tmp_path: Path) -> None:
    run = copy_run(tmp_path, "old", n_lines=10)
    _age(run, STALE_AFTER_S + 5)
    assert RunIndex(tmp_path).scan()[0].state == "stale"
    # A process the dashboard launched and that still runs overrides the clock.
    assert RunIndex(tmp_path).scan(launched=[(run, True)])[0].state == "running"


def test_the_reason_of_run_end_is_the_state(tmp_path: Path) -> None:
    run = copy_run(tmp_path, "stopped", n_lines=10)
    with (run / "events.jsonl").open("a") as f:
        f.write(
            json.dumps(
                {
                    "v": 1,
                    "kind": "run_end",
                    "step": 140,
                    "time": 1.0,
                    "reason": "interrupted",
                    "message": "",
                }
            )
            + "\n"
        )
    index = RunIndex(tmp_path)
    assert index.scan()[0].state == "interrupted"
    assert index.scan()[0].step == 140  # read incrementally: the second scan keeps the figures


def test_a_run_dir_given_directly_is_the_only_run(tmp_path: Path) -> None:
    run = copy_run(tmp_path, "solo")
    assert [r.path for r in RunIndex(run).scan()] == [run]


def test_state_decision_order() -> None:
    assert decide_state({"reason": "failed"}, True, True, 0.0) == "failed"
    assert decide_state({}, False, None, 0.0) == "stale"  # launched process gone
    assert decide_state({}, None, True, 10 * STALE_AFTER_S) == "running"  # pid says alive
    assert decide_state({}, None, None, 1.0) == "running"
    assert decide_state({}, None, None, STALE_AFTER_S + 1) == "stale"


def test_pid_alive_checks_this_host_only() -> None:
    host = socket.gethostname()
    assert pid_alive(os.getpid(), host) is True
    assert pid_alive(os.getpid(), host + "-elsewhere") is None
    assert pid_alive(None, host) is None


def test_the_kind_names_the_curricula_and_the_levers_a_run_has_on() -> None:
    cgar = {"curriculum": {"depth": True, "hsw": True}}
    assert run_kind(cgar) == "cgar"
    assert run_kind({**cgar, "optim": {"optimizer": "muon"}}) == "cgar+muon"
    levers = {"model": {"halt_bias_init": -3.0}, "curriculum": {"depth": False, "clues": True}}
    assert run_kind(levers) == "baseline+halt3+clues"
    assert run_kind({"model": {"halt_bias_init": -5.0}, "optim": {"optimizer": "adam-atan2"}}) == (
        "baseline"
    )
    assert run_kind({"model": "odd", "optim": ["muon"], "curriculum": None}) == "baseline"
