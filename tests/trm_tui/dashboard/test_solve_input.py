"""The solve tab's input line: a directory, a file, typed text, and text that is no path."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

import trm_tui.dashboard.screens.solve
from puzzles.grid import to_line
from trm_tui.dashboard.app import Dashboard
from trm_tui.dashboard.screens.solve import SolvePane, sample_puzzles
from trm_tui.dashboard.source import FileSource

from .helpers import record_notices, submit_puzzle, wait_until


def _app(root: Path) -> Dashboard:
    return Dashboard(FileSource(root, poll_s=0.05, scan_s=0.5))


def _status(app: Dashboard) -> str:
    return str(app.query_one("#solve-status", Static).content)


async def test_a_directory_is_named_on_the_status_line(tmp_path: Path) -> None:
    folder = tmp_path / "puzzles"
    folder.mkdir()
    app = _app(tmp_path)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        shown = list(app.query_one(SolvePane).puzzles)
        await submit_puzzle(pilot, str(folder))
        expected = f"{folder}: is a directory, not a puzzle file"
        await wait_until(pilot, lambda: _status(app) == expected, "the status line")
        assert expected in notices
        assert app.query_one(SolvePane).puzzles == shown  # what was shown stays


async def test_an_existing_file_is_read_as_a_puzzle_file(tmp_path: Path) -> None:
    first, second = sample_puzzles()[:2]
    path = tmp_path / "two.txt"
    path.write_text(f"{to_line(first.grid)}\n{to_line(second.grid)}\n")
    app = _app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        pane = app.query_one(SolvePane)
        await submit_puzzle(pilot, str(path))
        await wait_until(pilot, lambda: len(pane.puzzles) == 2, "the file's puzzles")
        assert [p.source for p in pane.puzzles] == [str(path)] * 2
        assert "puzzle 1/2 (two.txt:1)" in _status(app)


async def test_text_that_is_no_path_is_a_typed_puzzle(tmp_path: Path) -> None:
    puzzle = sample_puzzles()[0]
    app = _app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        pane = app.query_one(SolvePane)
        await submit_puzzle(pilot, to_line(puzzle.grid))
        await wait_until(pilot, lambda: len(pane.puzzles) == 1, "the typed puzzle")
        assert pane.puzzles[0].source == "<typed>"
        assert (pane.puzzles[0].grid == puzzle.grid).all()


async def test_text_too_long_for_a_file_name_is_still_typed_text(tmp_path: Path) -> None:
    app = _app(tmp_path)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await submit_puzzle(pilot, "1" * 300)  # stat() of this name fails with "File name too long"
        await wait_until(pilot, lambda: any("<typed>" in n for n in notices), "the notice")
        assert app.is_running


async def test_a_file_that_cannot_be_read_is_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("x\n")

    def refuse(path: Path) -> list[object]:
        raise PermissionError(13, "Permission denied", str(path))

    app = _app(tmp_path)
    notices = record_notices(app)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        # As root a chmod does not lock a file, so the refusal is made by hand (after the
        # bundled samples were read on mount).
        monkeypatch.setattr(trm_tui.dashboard.screens.solve, "read_puzzles", refuse)
        await submit_puzzle(pilot, str(path))
        expected = f"{path}: cannot be read (Permission denied)"
        await wait_until(pilot, lambda: _status(app) == expected, "the status line")
        assert expected in notices and app.is_running
