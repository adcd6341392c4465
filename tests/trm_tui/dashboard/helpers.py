"""Test helpers for the dashboard: fixture run directories and a plain-text screen capture."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from rich.console import Console
from textual.app import App

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_RUN = FIXTURES / "cpu-cgar"


def copy_run(runs: Path, name: str = "cpu-cgar", n_lines: int | None = None) -> Path:
    """Copy the fixture run into ``runs/name``, keeping only the first ``n_lines`` event lines."""
    run = runs / name
    run.mkdir(parents=True)
    shutil.copy(FIXTURE_RUN / "config.json", run / "config.json")
    lines = (FIXTURE_RUN / "events.jsonl").read_text().splitlines(keepends=True)
    (run / "events.jsonl").write_text("".join(lines[:n_lines]))
    return run


def fixture_lines() -> list[str]:
    """The fixture run's event lines (with their newlines)."""
    return (FIXTURE_RUN / "events.jsonl").read_text().splitlines(keepends=True)


def screen_text(app: App) -> str:
    """What the terminal shows, as plain text (Textual exports only SVG, so render it ourselves)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, force_terminal=True
    )
    # The compositor's full update is what App.export_screenshot prints before its SVG export.
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()
