"""The event tail (partial lines, garbage, vanishing files) and the text renderers."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from rich.console import Console

from trm_tui.dashboard.history import RunHistory
from trm_tui.dashboard.source import EventsRead, EventTail, RunVanished
from trm_tui.dashboard.widgets.chart import ChartLine, render_chart
from trm_tui.dashboard.widgets.timeline import render_timeline
from trm_tui.dashboard.widgets.weights import render_bars

from .helpers import FIXTURE_RUN, copy_run, fixture_lines


def _plain(renderable: object, width: int = 80) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_a_partial_last_line_waits_for_its_end(tmp_path: Path) -> None:
    run = copy_run(tmp_path, n_lines=3)
    tail = EventTail(run)
    [first] = tail.read()
    assert isinstance(first, EventsRead) and len(first.events) == 3
    line = fixture_lines()[3]
    with (run / "events.jsonl").open("a") as f:
        f.write(line[:40])
    assert tail.read() == []
    with (run / "events.jsonl").open("a") as f:
        f.write(line[40:])
    [second] = tail.read()
    assert [e["kind"] for e in second.events] == [json.loads(line)["kind"]]


def test_garbage_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    run = copy_run(tmp_path, n_lines=2)
    with (run / "events.jsonl").open("a") as f:
        f.write("{not json\n" + fixture_lines()[2])
    [message] = EventTail(run).read()
    assert isinstance(message, EventsRead)
    assert len(message.events) == 3 and len(message.errors) == 1
    assert "not JSON" in message.errors[0] and "events.jsonl" in message.errors[0]


def test_a_deleted_run_is_reported_once(tmp_path: Path) -> None:
    run = copy_run(tmp_path, n_lines=2)
    tail = EventTail(run)
    tail.read()
    shutil.rmtree(run)
    [message] = tail.read()
    assert isinstance(message, RunVanished) and message.what == "run directory"
    assert tail.read() == []


def test_chart_has_the_asked_size_and_marks_stage_boundaries() -> None:
    line = ChartLine("train", [0, 50, 100], [2.0, 1.0, 0.5], "cyan")
    text = render_chart("loss", [line], 40, 10, markers=[50.0, 75.0])
    rows = text.plain.split("\n")
    assert len(rows) == 10 and all(len(r) <= 40 for r in rows)
    assert rows[0].startswith("loss")
    assert any("┊" in r for r in rows[1:-1])
    assert sum(ch >= "⠁" and ch <= "⣿" for r in rows for ch in r) >= 10
    assert rows[-1].strip().startswith("0") and rows[-1].strip().endswith("100")
    empty = render_chart("loss", [], 40, 10)
    assert "waiting for data" in empty.plain


def test_bars_scale_to_the_largest_value() -> None:
    rows = render_bars([1.0, 0.5, 0.0], rows=2, cell=2, style="green").plain.split("\n")
    assert len(rows) == 2 and all(len(r) == 6 for r in rows)
    assert rows[0][0] == "█" and rows[1][0] == "█"  # the largest value fills both rows
    assert rows[0][2] == " " and rows[1][2] == "█"  # half of it fills the lower row
    assert rows[0][4] == " " and rows[1][4] == " "


def test_timeline_shows_stages_position_and_next_stage() -> None:
    config = json.loads((FIXTURE_RUN / "config.json").read_text())
    history = RunHistory(config)
    for line in fixture_lines():
        event = json.loads(line)
        if event["step"] > 200:
            break
        history.add(event)
    text = _plain(render_timeline(history, 100), 100)
    assert "stage 2/3" in text and "n=4 T=2" in text and "effective depth 20" in text
    assert "next: stage 3 (n=6 T=3) at step 375" in text
    assert "1:(2,1)" in text and "3:(6,3)" in text
    assert f"▲ {history.step}/625" in text
