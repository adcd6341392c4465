"""Test helpers for the dashboard: fixture run directories and a plain-text screen capture."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

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


async def wait_until(
    pilot: Pilot, condition: Callable[[], bool], what: str = "the awaited state", tries: int = 1200
) -> None:
    """Let the app run until ``condition()`` holds; fail after ``tries`` short pauses.

    The bound is a number of pauses, not a deadline: on a loaded CPU each pause lasts longer
    (the app's turns and the source's polls with it), so the wait stretches with the machine
    instead of running out; unloaded, 1200 pauses are a minute."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition(), f"the dashboard never got to: {what}"


def _train_line(step: int, extra: bytes) -> bytes:
    return b'{"v":1,"kind":"train","step":%d,"time":1.0,"loss":0.5%s}' % (step, extra)


# One line of each kind that must be a notice and never stop the reader: each would add a loss
# point if it were taken for an event.
BAD_LINES: dict[str, bytes] = {
    "a 5000-digit integer": _train_line(7, b',"lm_loss":' + b"9" * 5000),
    "an integer too large for a float": _train_line(7, b',"lr":1' + b"0" * 400),
    "a float that overflows": _train_line(7, b',"lr":1e400'),
    "an array": b"[1,2]",
    "a string": b'"x"',
    "null": b"null",
    "a step that is text": b'{"v":1,"kind":"train","step":"abc","time":1.0,"loss":0.5}',
    "a loss that is an object": b'{"v":1,"kind":"train","step":7,"time":1.0,"loss":{}}',
    "NaN": b'{"v":1,"kind":"train","step":7,"time":1.0,"loss":NaN}',
    "-Infinity": b'{"v":1,"kind":"train","step":7,"time":1.0,"loss":-Infinity}',
    "invalid UTF-8": _train_line(7, b',"note":"\xff\xfe"'),
    "an enormous line": _train_line(7, b',"pad":"' + b"a" * (2 << 20) + b'"'),
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "no kind": b'{"v":1,"step":7,"time":1.0,"loss":0.5}',
}


def write_run_with_bad_lines(runs: Path, name: str = "bad") -> tuple[Path, list[int]]:
    """The fixture run with every :data:`BAD_LINES` entry between its lines; their line numbers."""
    run = copy_run(runs, name, n_lines=0)
    good = [line.encode() for line in fixture_lines()]
    lines, bad_numbers = good[:4], []
    for bad in BAD_LINES.values():
        lines.append(bad + b"\n")
        bad_numbers.append(len(lines))
    (run / "events.jsonl").write_bytes(b"".join(lines + good[4:]))
    return run, bad_numbers


def record_notices(app: App) -> list[str]:
    """Every notice ``app`` gives from now on, kept after its toast times out.

    Textual drops a notification after its timeout (seconds of wall time); on a loaded CPU a
    test may look later than that, so it reads this record instead of the live toasts."""
    seen: list[str] = []
    notify = app.notify

    def recording(message: str, *args: Any, **kwargs: Any) -> None:
        seen.append(str(message))
        notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return seen


async def show_tab(pilot: Pilot, key: str, tab: str) -> None:
    """Press ``key`` and wait until ``tab`` is the one shown."""
    await pilot.press(key)
    tabs = pilot.app.query_one(TabbedContent)
    await wait_until(pilot, lambda: tabs.active == tab, f"the {tab} tab")


async def submit_puzzle(pilot: Pilot, text: str) -> None:
    """Go to the solve tab, type ``text`` into its input line and press enter."""
    await show_tab(pilot, "3", "solve")
    box = pilot.app.query_one("#puzzle-input", Input)
    box.value = text
    box.focus()
    await wait_until(pilot, lambda: pilot.app.focused is box, "the input line focused")
    await pilot.press("enter")
