"""Snapshot tests (pytest-textual-snapshot) of the solve tab, before and after a solve, and of
the start tab: a fixed terminal size, a fake trace, no clocks or paths of the machine in frame.

The runs and training tabs are not snapshotted: their frames are measured against the wall clock
(the runs table's "age" column and "running"/"stale" state, the training figures' elapsed time),
so a frame taken today would not match one taken tomorrow."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from trm_tui.dashboard.app import Dashboard
from trm_tui.dashboard.screens.solve import SolveDone, SolvePane
from trm_tui.dashboard.source import FileSource

from .helpers import wait_until
from .test_solve_and_start import _fake_samples

SIZE = (120, 40)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Dashboard:
    # A relative, empty runs folder: no path of this machine in any frame.
    monkeypatch.chdir(tmp_path)
    os.mkdir("runs")
    return Dashboard(FileSource(Path("runs"), poll_s=0.05, scan_s=0.5))


def test_the_solve_tab_before_solving(app: Dashboard, snap_compare: Any) -> None:
    assert snap_compare(app, terminal_size=SIZE, press=["3"])


def test_the_solve_tab_with_samples(app: Dashboard, snap_compare: Any) -> None:
    async def solved(pilot: Pilot) -> None:
        await pilot.press("3")
        app.post_message(SolveDone(_fake_samples()))
        pane = app.query_one(SolvePane)
        await wait_until(pilot, lambda: pane.trace is not None, "the trace shown")
        await pilot.press("right")

    assert snap_compare(app, terminal_size=SIZE, run_before=solved)


def test_the_start_tab(app: Dashboard, snap_compare: Any) -> None:
    assert snap_compare(app, terminal_size=SIZE, press=["4"])
