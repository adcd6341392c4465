"""The dashboard app under Textual's Pilot, fed from fixture run directories."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, TabbedContent

from trm_tui.dashboard.app import Dashboard
from trm_tui.dashboard.source import FileSource
from trm_tui.dashboard.widgets.chart import LineChart
from trm_tui.dashboard.widgets.timeline import StageTimeline
from trm_tui.dashboard.widgets.weights import WeightsBars

from .helpers import (
    copy_run,
    fixture_lines,
    record_notices,
    screen_text,
    show_tab,
    wait_until,
)


def _app(root: Path, open_run: Path | None = None) -> Dashboard:
    return Dashboard(FileSource(root, poll_s=0.05, scan_s=0.2), open_run=open_run)


def _loss_points(app: Dashboard) -> int:
    chart = app.query(LineChart).first()
    return sum(len(line.xs) for line in chart.lines)


def _append(run: Path, lines: list[str]) -> None:
    with (run / "events.jsonl").open("a") as f:
        f.write("".join(lines))


async def test_opening_a_finished_run_replays_it_at_80x24(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    app = _app(run, open_run=run)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.histories[run].run_end != {} and app.n_redraws > 0)
        # All of it, not one part then the rest: a panel that grows by a row (the checkpoint
        # line) is laid out a frame after it is drawn, and a loaded CPU can be looked at between.
        shown = ("finished", "stage 3/3 · n=6 T=3 · effective depth 42", "625/625")
        shown += ("step-625.pt (best)",)
        await wait_until(
            pilot, lambda: all(part in screen_text(app) for part in shown), "the whole run"
        )
        assert app.query_one(TabbedContent).active == "training"
        kinds = [json.loads(line)["kind"] for line in fixture_lines()]
        await wait_until(pilot, lambda: _loss_points(app) == kinds.count("train"), "every point")


async def test_timeline_and_weights_follow_a_stage_event(tmp_path: Path) -> None:
    lines = fixture_lines()
    stage2 = next(
        i for i, line in enumerate(lines) if '"stage":2' in line and '"kind":"stage"' in line
    )
    run = copy_run(tmp_path, n_lines=stage2)  # everything before the change to stage 2
    app = _app(run, open_run=run)
    async with app.run_test(size=(100, 32)) as pilot:
        timeline = app.query_one(StageTimeline)
        await wait_until(pilot, lambda: "stage 1/3" in screen_text(app))
        assert timeline.history is not None and timeline.history.current_stage.n == 2
        _append(run, lines[stage2 : stage2 + 2])
        shown = ("stage 2/3 · n=4 T=2", "next: stage 3 (n=6 T=3) at step 375")
        shown += ("weights w_t · HSW λ=0.7",)
        await wait_until(pilot, lambda: all(part in screen_text(app) for part in shown), "stage 2")
        weights = app.query_one(WeightsBars)
        assert weights.history is not None
        assert weights.history.supervision_weights()[0] > 0.3  # HSW: w_1 = 0.3 / (1 - 0.7^16)


async def test_charts_grow_as_lines_are_appended(tmp_path: Path) -> None:
    lines = fixture_lines()
    run = copy_run(tmp_path, n_lines=4)
    app = _app(run, open_run=run)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: _loss_points(app) == 2)
        _append(run, lines[4:12])
        expected = sum('"kind":"train"' in line for line in lines[:12])
        await wait_until(pilot, lambda: _loss_points(app) == expected)
        assert expected > 2


@pytest.mark.slow
async def test_redraws_are_paced_when_a_run_writes_fast(tmp_path: Path) -> None:
    lines = fixture_lines()
    run = copy_run(tmp_path, n_lines=3)
    app = _app(run, open_run=run)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.n_redraws >= 1)
        before, start = app.n_redraws, time.monotonic()
        for line in lines[3:]:
            _append(run, [line])
            await pilot.pause(0.01)
        n_train = sum('"kind":"train"' in line for line in lines)
        await wait_until(pilot, lambda: _loss_points(app) == n_train, "every point drawn")
        elapsed = time.monotonic() - start
        assert app.n_redraws - before <= 4 * elapsed + 2  # at most REDRAW_HZ = 4 per second


async def test_a_truncated_last_line_is_no_error_and_garbage_is_a_notice(tmp_path: Path) -> None:
    lines = fixture_lines()
    run = copy_run(tmp_path, n_lines=4)
    _append(run, [lines[4][:30]])  # the writer is mid-line
    app = _app(run, open_run=run)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_until(pilot, lambda: _loss_points(app) == 2)
        await pilot.pause(0.3)
        assert notices == []
        _append(run, [lines[4][30:], "{garbage\n", lines[5]])
        await wait_until(pilot, lambda: _loss_points(app) == 4)
        await wait_until(pilot, lambda: any("not JSON" in n for n in notices))


async def test_missing_events_and_a_deleted_run_dir_are_notices(tmp_path: Path) -> None:
    run = copy_run(tmp_path, n_lines=4)
    empty = tmp_path / "no-events-yet"
    empty.mkdir()
    shutil.copy(run / "config.json", empty / "config.json")
    app = _app(tmp_path, open_run=empty)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        # No events.jsonl: nothing to draw yet.
        await wait_until(pilot, lambda: "waiting for data" in screen_text(app), "an empty chart")
        app.open_run(run, None)
        await wait_until(pilot, lambda: _loss_points(app) == 2)
        shutil.rmtree(run)
        await wait_until(pilot, lambda: any("run directory is gone" in n for n in notices))
        assert _loss_points(app) == 2  # what was read stays on screen


async def test_runs_list_marks_and_compares_two_runs(tmp_path: Path) -> None:
    cgar = copy_run(tmp_path, "cpu-cgar")
    baseline = copy_run(tmp_path, "cpu-baseline", n_lines=20)
    app = _app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        table = app.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        shown = ("625/625", "cpu-cgar", "finished", "cpu-baseline")
        await wait_until(pilot, lambda: all(part in screen_text(app) for part in shown), "runs")
        names = [r.name for r in app.query_one("RunsPane").runs]
        await pilot.press(*["down"] * names.index("cpu-baseline"))
        await pilot.press("space")
        await wait_until(pilot, lambda: app.query_one("RunsPane").marked == baseline, "the mark")
        await pilot.press("up" if names.index("cpu-cgar") < names.index("cpu-baseline") else "down")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.primary == cgar and app.compare == baseline)
        await wait_until(
            pilot,
            lambda: any(
                line.label.startswith("vs ") for line in app.query(LineChart).first().lines
            ),
        )
        await wait_until(pilot, lambda: "vs cpu-baseline" in screen_text(app), "the comparison")


@pytest.mark.slow
async def test_keys_switch_tabs_show_help_toggle_theme_and_quit(tmp_path: Path) -> None:
    copy_run(tmp_path)
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tabs = app.query_one(TabbedContent)
        for key, tab in (("2", "training"), ("3", "solve"), ("4", "start"), ("1", "runs")):
            await pilot.press(key)
            await wait_until(pilot, lambda tab=tab: tabs.active == tab, f"tab {tab}")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: bool(app.screen.query("HelpPanel")), "the help panel")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: not app.screen.query("HelpPanel"), "no help panel")
        theme = app.theme
        await pilot.press("t")
        await wait_until(pilot, lambda: app.theme != theme, "the other theme")
        await show_tab(pilot, "3", "solve")
        box = app.query_one("#puzzle-input", Input)
        box.focus()
        await wait_until(pilot, lambda: app.focused is box, "the input focused")
        await pilot.press("1", "2")
        await wait_until(pilot, lambda: box.value == "12", "the typed digits")
        assert tabs.active == "solve"  # digits typed into a text box are text, not tab keys
        table = app.query_one(DataTable)
        table.focus()
        await wait_until(pilot, lambda: app.focused is table, "the table focused")
        assert app.return_code is None
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code == 0, "q asking the app to exit")


async def test_runs_scanned_before_the_table_exists_are_shown_once_it_does(tmp_path: Path) -> None:
    from textual.app import App, ComposeResult

    from trm_tui.dashboard.runs import RunSummary
    from trm_tui.dashboard.screens.runs import RunsPane

    pane = RunsPane(tmp_path)
    early = RunSummary(tmp_path / "r", "r", "cpu", "cgar", "running", 3, 10, None, 0.0)
    pane.update_runs([early])  # not composed yet: must not raise

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield pane

    async with Host().run_test() as pilot:
        await pilot.pause()
        assert pane.query_one(DataTable).row_count == 1
