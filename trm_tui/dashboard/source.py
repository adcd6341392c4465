"""The dashboard's data source: tails ``events.jsonl`` files and lists runs, off the UI thread.

Follows memray's live view and toolong: a background thread reads new lines (with
:func:`engine.events.follow_events`, which leaves a partial last line for the next read and
skips bad lines, describing each) and hands typed messages to the app; the app folds them in
and redraws on its own clock. The source is injected into the app, so tests point it at fixture
files and append lines to simulate a live run.

Nothing a run's files hold may stop the thread: a bad line is a description in
:class:`EventsRead`, a file that cannot be read is one too (told once, retried each poll), and
any other failure of one read is a :class:`SourceFailed` message, after which the loop goes on.
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
    """A fresh list of the runs under the source's root, and what was wrong in their files."""

    def __init__(
        self, runs: list[RunSummary], errors: list[tuple[Path, str]], failures: list[str]
    ) -> None:
        super().__init__()
        self.runs = runs
        self.errors = errors  # (run, description) of new bad lines and unreadable files
        self.failures = failures  # why a run is missing from ``runs``


class SourceFailed(Message):
    """Reading a run's events or scanning the runs raised; the source carries on."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


@dataclass
class EventTail:
    """Reads the events of one run from where it last stopped."""

    run: Path
    token: int = 0  # the app's opening of the run; reads of an older opening are dropped
    offset: int = 0
    was_present: bool = False
    trouble: str | None = None  # why the file could not be read, once told

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
        try:
            events, self.offset = follow_events(path, self.offset, errors)
        except OSError as e:  # e.g. a directory in its place: told once, tried again next poll
            trouble = f"{path}: cannot be read ({e.strerror or e})"
            is_new, self.trouble = trouble != self.trouble, trouble
            return [EventsRead(self.run, self.token, [], [trouble])] if is_new else []
        self.trouble = None
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
        failures = Failures(post)
        next_scan = 0.0
        while not cancelled():
            wanted = list(followed())
            tails = {key: tails.get(key) or EventTail(*key) for key in wanted}
            for key, tail in tails.items():
                failures.attempt(key, f"{tail.run}: reading its events failed", tail.read)
            if time.monotonic() >= next_scan:
                what = f"{self.root}: listing the runs failed"
                failures.attempt("scan", what, self._scan_runs, launched)
                next_scan = time.monotonic() + self.scan_s
            time.sleep(self.poll_s)

    def _scan_runs(self, launched: Callable[[], Iterable[tuple[Path, bool]]]) -> list[Message]:
        errors: list[tuple[Path, str]] = []
        failures: list[str] = []
        runs = self.index.scan(launched(), errors=errors, failures=failures)
        return [RunsScanned(runs, errors, failures)]


@dataclass
class Failures:
    """Runs each read of the loop and posts what it yields; a read that raises is posted as a
    :class:`SourceFailed` instead, once while the same failure repeats, and the loop goes on."""

    post: Callable[[Message], Any]
    told: dict[object, str] = field(default_factory=dict)  # the failure last posted, per read

    def attempt(
        self, key: object, what: str, read: Callable[..., list[Message]], *args: Any
    ) -> None:
        """``post`` each message of ``read(*args)``, or say how it failed."""
        try:
            messages = read(*args)
        # Whatever one run's files do to a read, the other runs must keep being shown.
        except Exception as e:
            reason = f"{what}: {type(e).__name__}: {e}"
            if self.told.get(key) != reason:
                self.told[key] = reason
                self.post(SourceFailed(reason))
            return
        self.told.pop(key, None)
        for message in messages:
            self.post(message)
