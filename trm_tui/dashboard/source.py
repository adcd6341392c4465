"""The dashboard's data source: tails ``events.jsonl`` files and lists runs, off the UI thread.

Follows memray's live view and toolong: a background thread reads new lines (with
:func:`engine.events.follow_events`, which leaves a partial last line for the next read and
skips garbage lines) and hands typed messages to the app; the app folds them in and redraws on
its own clock. The source is injected into the app, so tests point it at fixture files and
append lines to simulate a live run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message

from engine.events import follow_events
from trm_tui.dashboard.runs import EVENTS_FILE, RunIndex, RunSummary


class EventsRead(Message):
    """New events (and descriptions of bad lines) of one run."""

    def __init__(
        self, run: Path, token: int, events: list[dict[str, Any]], errors: list[str]
    ) -> None:
        super().__init__()
        self.run = run
        self.token = token  # which opening of the run this read belongs to
        self.events = events
        self.errors = errors


class RunVanished(Message):
    """A followed run's directory or events file is gone."""

    def __init__(self, run: Path, what: str) -> None:
        super().__init__()
        self.run = run
        self.what = what


class RunsScanned(Message):
    """A fresh list of the runs under the source's root."""

    def __init__(self, runs: list[RunSummary]) -> None:
        super().__init__()
        self.runs = runs


@dataclass
class EventTail:
    """Reads the events of one run from where it last stopped."""

    run: Path
    token: int = 0  # the app's opening of the run; reads of an older opening are dropped
    offset: int = 0
    was_present: bool = False

    def read(self) -> list[Message]:
        """Messages for what changed since the last read (none when nothing did)."""
        path = self.run / EVENTS_FILE
        if not path.exists():
            if self.was_present:
                self.was_present = False
                what = "run directory" if not self.run.exists() else "events file"
                return [RunVanished(self.run, what)]
            return []
        self.was_present = True
        errors: list[str] = []
        events, self.offset = follow_events(path, self.offset, errors)
        return [EventsRead(self.run, self.token, events, errors)] if events or errors else []


@dataclass
class FileSource:
    """Runs and events from the filesystem under ``root`` (a runs folder or one run)."""

    root: Path
    poll_s: float = 0.25  # how often followed files are read
    scan_s: float = 2.0  # how often the runs list is rebuilt
    index: RunIndex = field(init=False)

    def __post_init__(self) -> None:
        self.index = RunIndex(self.root)

    def follow(
        self,
        followed: Callable[[], Iterable[tuple[Path, int]]],
        launched: Callable[[], Iterable[tuple[Path, bool]]],
        post: Callable[[Message], Any],
        cancelled: Callable[[], bool],
    ) -> None:
        """Loop until ``cancelled()``: post new events of the ``followed()`` (run, token) pairs
        and, every ``scan_s``, the runs list (``launched()``: runs this app started, alive?)."""
        tails: dict[tuple[Path, int], EventTail] = {}
        next_scan = 0.0
        while not cancelled():
            wanted = list(followed())
            tails = {key: tails.get(key) or EventTail(*key) for key in wanted}
            for tail in tails.values():
                for message in tail.read():
                    post(message)
            if time.monotonic() >= next_scan:
                post(RunsScanned(self.index.scan(launched())))
                next_scan = time.monotonic() + self.scan_s
            time.sleep(self.poll_s)
