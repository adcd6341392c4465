"""Bad event lines (huge numbers, non-objects, wrong types, NaN, bad UTF-8, enormous or deeply
nested lines) and failures while reading are notices; the run and every other run keep showing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable

import trm_tui.dashboard.source
from engine.events import read_events
from trm_tui.dashboard.app import Dashboard
from trm_tui.dashboard.runs import RunIndex
from trm_tui.dashboard.screens.runs import RunsPane
from trm_tui.dashboard.source import EventsRead, EventTail, FileSource
from trm_tui.dashboard.widgets.chart import LineChart

from .helpers import (
    BAD_LINES,
    copy_run,
    fixture_lines,
    record_notices,
    wait_until,
    write_run_with_bad_lines,
)

N_TRAIN = sum('"kind":"train"' in line for line in fixture_lines())


def _app(root: Path, open_run: Path | None = None) -> Dashboard:
    return Dashboard(FileSource(root, poll_s=0.05, scan_s=0.2), open_run=open_run)


def _loss_points(app: Dashboard) -> int:
    return sum(len(line.xs) for line in app.query(LineChart).first().lines)


def test_the_tail_skips_each_bad_line_and_names_it(tmp_path: Path) -> None:
    run, numbers = write_run_with_bad_lines(tmp_path)
    [message] = EventTail(run).read()
    assert isinstance(message, EventsRead)
    assert message.events == [json.loads(line) for line in fixture_lines()]
    assert len(message.errors) == len(BAD_LINES)
    for number, error, what in zip(numbers, message.errors, BAD_LINES, strict=True):
        assert error.startswith(f"{run / 'events.jsonl'}:{number}: "), what
        assert len(error.splitlines()) == 1 and len(error) < 300, what


def test_the_whole_file_reader_skips_the_same_lines(tmp_path: Path) -> None:
    run, numbers = write_run_with_bad_lines(tmp_path)
    errors: list[str] = []
    events = read_events(run / "events.jsonl", errors)
    assert events == [json.loads(line) for line in fixture_lines()]
    assert [int(e.split(":")[1]) for e in errors] == numbers


@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("a 5000-digit integer", "too many digits"),
        ("an integer too large for a float", "train.lr: beyond a float's range"),
        ("a float that overflows", "train.lr: beyond a float's range"),
        ("an array", "not an event"),
        ("a string", "not an event"),
        ("null", "not an event"),
        ("a step that is text", "step: expected an integer"),
        ("a loss that is an object", "train.loss: expected a number or null"),
        ("NaN", "NaN is not JSON"),
        ("-Infinity", "-Infinity is not JSON"),
        ("invalid UTF-8", "not UTF-8"),
        ("an enormous line", "longer than"),
        ("deep nesting", "nested too deeply"),
        ("no kind", "not an event"),
    ],
)
def test_each_bad_line_says_what_is_wrong(tmp_path: Path, what: str, reason: str) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(BAD_LINES[what] + b"\n")
    errors: list[str] = []
    assert read_events(path, errors) == []
    [error] = errors
    assert error.startswith(f"{path}:1: ") and reason in error


def test_the_runs_scan_lists_every_run_past_bad_lines(tmp_path: Path) -> None:
    copy_run(tmp_path, "good")
    write_run_with_bad_lines(tmp_path, "bad")
    runs = {r.name: r for r in RunIndex(tmp_path).scan()}
    assert set(runs) == {"good", "bad"}
    assert (runs["bad"].state, runs["bad"].step) == ("finished", 625)


async def test_a_run_with_bad_lines_shows_its_good_lines_and_the_other_runs(
    tmp_path: Path,
) -> None:
    copy_run(tmp_path, "good")
    bad, numbers = write_run_with_bad_lines(tmp_path, "bad")
    app = _app(tmp_path, open_run=bad)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_until(pilot, lambda: _loss_points(app) == N_TRAIN, "every good train event")
        await wait_until(pilot, lambda: app.states.get(bad) == "finished", "the run's state")
        await wait_until(pilot, lambda: app.query_one(DataTable).row_count == 2, "both runs")
        first = f"{bad / 'events.jsonl'}:{numbers[0]}:"
        more = f"(and {len(BAD_LINES) - 1} more)"
        await wait_until(
            pilot, lambda: any(first in n and more in n for n in notices), "the notice"
        )
        assert app.histories[bad].run_end["reason"] == "finished"
        assert {r.name for r in app.query_one(RunsPane).runs} == {"good", "bad"}


async def test_an_unreadable_events_file_is_a_notice_and_reading_goes_on(tmp_path: Path) -> None:
    copy_run(tmp_path, "good")
    broken = copy_run(tmp_path, "broken", n_lines=0)
    (broken / "events.jsonl").unlink()
    (broken / "events.jsonl").mkdir()  # opening it raises IsADirectoryError in the thread
    app = _app(tmp_path, open_run=broken)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.query_one(DataTable).row_count == 2, "both runs")
        await wait_until(
            pilot,
            lambda: any("broken/events.jsonl" in n and "directory" in n for n in notices),
            "a notice about the unreadable file",
        )
        (broken / "events.jsonl").rmdir()
        (broken / "events.jsonl").write_text("".join(fixture_lines()[:4]))
        await wait_until(pilot, lambda: _loss_points(app) == 2, "the events once readable")
        assert sum("cannot be read" in n for n in notices) == 1  # not once per poll


def test_an_unreadable_events_file_is_told_once_until_it_changes(tmp_path: Path) -> None:
    run = copy_run(tmp_path, n_lines=0)
    (run / "events.jsonl").unlink()
    (run / "events.jsonl").mkdir()
    tail = EventTail(run)
    [message] = tail.read()
    assert isinstance(message, EventsRead) and message.events == []
    assert message.errors == [f"{run / 'events.jsonl'}: cannot be read (Is a directory)"]
    assert tail.read() == [] and tail.read() == []
    errors: list[tuple[Path, str]] = []
    index = RunIndex(tmp_path)
    assert [r.name for r in index.scan(errors=errors)] == [run.name]  # listed all the same
    assert errors == [(run, message.errors[0])]
    index.scan(errors=errors)
    assert len(errors) == 1


async def test_an_exception_on_one_line_is_a_notice_and_the_next_lines_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.events.read

    parse = engine.events.read.parse_line

    def flaky_parse(raw: bytes) -> tuple[dict | None, str | None]:
        if b'"step":40,' in raw:
            raise RuntimeError("surprise on this line")
        return parse(raw)

    monkeypatch.setattr(engine.events.read, "parse_line", flaky_parse)
    run = copy_run(tmp_path)
    app = _app(run, open_run=run)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.histories[run].run_end != {}, "the run's end")
        await wait_until(
            pilot, lambda: any("surprise on this line" in n for n in notices), "the notice"
        )
        # Only the line that raised is missing (the chart is redrawn on the app's own clock).
        assert len(app.histories[run].train["loss"].steps) == N_TRAIN - 1
        await wait_until(pilot, lambda: _loss_points(app) == N_TRAIN - 1, "the chart")


async def test_a_reader_that_dies_anyway_is_an_error_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_follow(self: FileSource, *args: object) -> None:
        raise RuntimeError("the loop itself broke")

    monkeypatch.setattr(trm_tui.dashboard.source.FileSource, "follow", broken_follow)
    app = _app(copy_run(tmp_path))
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_until(
            pilot,
            lambda: any("stopped reading" in n and "the loop itself broke" in n for n in notices),
            "the error notice",
        )


async def test_a_run_that_cannot_be_listed_is_an_error_and_the_others_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_run(tmp_path, "good")
    odd = copy_run(tmp_path, "odd", n_lines=10)
    summarise = RunIndex._summarise

    def failing_summarise(self: RunIndex, run: Path, *args: object) -> object:
        if run.name == "odd":
            raise RuntimeError("a fault while summarising")
        return summarise(self, run, *args)

    monkeypatch.setattr(RunIndex, "_summarise", failing_summarise)
    app = _app(tmp_path)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_until(
            pilot, lambda: any("a fault while summarising" in n for n in notices), "notice"
        )
        await wait_until(pilot, lambda: app.query_one(DataTable).row_count == 1, "the good run")
        assert [r.name for r in app.query_one(RunsPane).runs] == ["good"]
    failures: list[str] = []
    index = RunIndex(tmp_path)
    index.scan(failures=failures)
    index.scan(failures=failures)
    assert failures == [f"{odd}: cannot be listed (RuntimeError: a fault while summarising)"]


def test_a_runaway_partial_line_is_told_once_and_passed_over(tmp_path: Path) -> None:
    from engine.events import MAX_LINE_BYTES

    run = copy_run(tmp_path, n_lines=2)
    with (run / "events.jsonl").open("ab") as f:
        f.write(b'{"kind":"train","pad":"' + b"a" * MAX_LINE_BYTES)  # no end in sight
    tail = EventTail(run)
    [first] = tail.read()
    assert isinstance(first, EventsRead) and len(first.events) == 2
    [error] = first.errors
    assert error.startswith(f"{run / 'events.jsonl'}:3: line of") and "limit" in error
    assert tail.read() == []  # not read again and again while it grows
    with (run / "events.jsonl").open("a") as f:
        f.write('"}\n' + fixture_lines()[2])
    [after] = tail.read()
    assert isinstance(after, EventsRead)
    assert [e["step"] for e in after.events] == [json.loads(fixture_lines()[2])["step"]]
    assert len(after.errors) == 1  # the runaway line's end, on its own


async def test_a_read_that_raises_is_an_error_notice_and_the_next_reads_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = EventTail.read
    n_calls = 0

    def failing_read(self: EventTail) -> list[object]:
        nonlocal n_calls
        n_calls += 1
        if n_calls <= 3:
            raise RuntimeError("a fault in the tail")
        return read(self)

    monkeypatch.setattr(EventTail, "read", failing_read)
    run = copy_run(tmp_path)
    app = _app(run, open_run=run)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_until(pilot, lambda: _loss_points(app) == N_TRAIN, "every train event")
        told = [n for n in notices if "a fault in the tail" in n]
        assert told == [f"{run}: reading its events failed: RuntimeError: a fault in the tail"]
