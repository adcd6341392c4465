"""Finding the runs under a folder and deciding what state each one is in.

A run directory (DESIGN.md) holds ``config.json`` and/or ``events.jsonl``. Its state:

- ``finished`` / ``interrupted`` / ``failed``: the reason of its ``run_end`` event;
- ``running``: no ``run_end`` and a live writer;
- ``stale``: no ``run_end`` and no live writer (the process died without a word).

A writer is live when (1) the dashboard launched it and the process has not exited, or (2)
``run_start`` carries ``pid`` and ``host`` and that pid exists on this host, or (3) as a
heuristic, ``events.jsonl`` (or ``config.json`` before the first event) changed within the
last :data:`STALE_AFTER_S` seconds. The trainer writes no pid today, so (3) decides for runs
started elsewhere; a ``pid``/``host`` pair in ``run_start`` would make the answer exact.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.ablation_report import levers_of
from engine.events import follow_events

CONFIG_FILE = "config.json"
EVENTS_FILE = "events.jsonl"
# Longer than any quiet spell of a healthy run (an evaluation of the paper preset's test split).
STALE_AFTER_S = 300.0


@dataclass(frozen=True)
class RunSummary:
    """One line of the runs list."""

    path: Path
    name: str
    preset: str
    kind: str  # "cgar", "depth", "hsw" or "baseline", and its levers: "cgar+muon"
    state: str  # "running", "finished", "interrupted", "failed" or "stale"
    step: int
    total_steps: int | None
    best_exact: float | None
    last_change: float  # unix seconds of the last write to the run


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` looks like a run directory."""
    return (path / CONFIG_FILE).is_file() or (path / EVENTS_FILE).is_file()


def read_config(run: Path) -> dict[str, Any]:
    """``config.json`` as a dict; {} when missing or unreadable (the events may still say)."""
    try:
        data = json.loads((run / CONFIG_FILE).read_text())
    except (OSError, ValueError, RecursionError):  # ValueError covers bad UTF-8 and bad JSON
        return {}
    return data if isinstance(data, dict) else {}


def run_kind(config: dict[str, Any]) -> str:
    """``cgar``, ``depth``, ``hsw`` or ``baseline``, as in the trainer's default run names, then
    the levers the run has on, as ``trm bench ablation`` names its variants: ``cgar+muon``."""
    curriculum = config.get("curriculum")
    curriculum = curriculum if isinstance(curriculum, dict) else {}
    depth, hsw = bool(curriculum.get("depth")), bool(curriculum.get("hsw"))
    kind = "cgar" if depth and hsw else "depth" if depth else "hsw" if hsw else "baseline"
    return "+".join([kind, *levers_of(config)])


def pid_alive(pid: Any, host: Any) -> bool | None:
    """Whether process ``pid`` runs on this host; None when that cannot be told."""
    # Only a plain positive pid: 0 and negative ones name process groups, huge ones overflow.
    is_pid = isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**31
    if not is_pid or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def decide_state(
    run_end: dict[str, Any], launched_alive: bool | None, pid_state: bool | None, age_s: float
) -> str:
    """The state from the ``run_end`` event and the liveness signals (see the module doc)."""
    reason = run_end.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    for signal in (launched_alive, pid_state):
        if signal is not None:
            return "running" if signal else "stale"
    return "running" if age_s < STALE_AFTER_S else "stale"


@dataclass
class _Tracked:
    """What the index keeps per run: an offset into its events and a few figures."""

    offset: int = 0
    trouble: str | None = None  # why the run could not be read at the last scan (told then)
    bad_lines: list[str] = field(default_factory=list)  # descriptions not yet handed on
    step: int = 0
    total_steps: int | None = None
    best_exact: float | None = None
    run_start: dict[str, Any] = field(default_factory=dict)
    run_end: dict[str, Any] = field(default_factory=dict)

    def add(self, event: dict[str, Any]) -> None:
        step = event.get("step")
        if isinstance(step, int) and not isinstance(step, bool):
            self.step = max(self.step, step)
        kind = event.get("kind")
        if kind == "run_start":
            self.run_start, self.run_end = event, {}
            total = event.get("total_steps")
            self.total_steps = total if isinstance(total, int) else None
        elif kind == "run_end":
            self.run_end = event
        elif kind == "eval":
            exact = event.get("exact_accuracy")
            if isinstance(exact, (int, float)) and not isinstance(exact, bool):
                self.best_exact = exact if self.best_exact is None else max(self.best_exact, exact)


class RunIndex:
    """The runs under one folder (or the one run a folder is), read incrementally."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tracked: dict[Path, _Tracked] = {}

    def run_dirs(self) -> list[Path]:
        """The run directories: ``root`` itself if it is one, else its children that are."""
        if is_run_dir(self.root):
            return [self.root]
        try:
            children = sorted(p for p in self.root.iterdir() if p.is_dir())
        except OSError:
            return []
        return [p for p in children if is_run_dir(p)]

    def scan(
        self,
        launched: Iterable[tuple[Path, bool]] = (),
        now: float | None = None,
        errors: list[tuple[Path, str]] | None = None,
        failures: list[str] | None = None,
    ) -> list[RunSummary]:
        """A summary of every run, newest first; ``launched`` = (run dir, process alive) pairs.

        What is wrong in a run's files goes to ``errors`` as (run, description): each bad line
        once, an unreadable events file once while it stays so. A run that cannot be summarised
        at all is left out and described in ``failures`` (once); the others are listed as ever."""
        now = time.time() if now is None else now
        alive = {path.resolve(): is_alive for path, is_alive in launched}
        found: list[tuple[Path, str]] = []
        failed: list[str] = []
        summaries = []
        for run in self.run_dirs():
            tracked = self._tracked.setdefault(run, _Tracked())
            try:
                summary, trouble = self._summarise(run, tracked, alive.get(run.resolve()), now)
            # One run's files, however odd, must not empty the list of all the others.
            except Exception as e:
                summary, trouble = None, f"{run}: cannot be listed ({type(e).__name__}: {e})"
                if trouble != tracked.trouble:
                    failed.append(trouble)
            else:
                if trouble is not None and trouble != tracked.trouble:  # once, not every scan
                    found.append((run, trouble))
            found += [(run, line) for line in tracked.bad_lines]
            tracked.bad_lines = []
            tracked.trouble = trouble
            if summary is not None:
                summaries.append(summary)
        if errors is not None:
            errors += found
        if failures is not None:
            failures += failed
        return sorted(summaries, key=lambda s: s.last_change, reverse=True)

    def _summarise(
        self, run: Path, tracked: _Tracked, launched_alive: bool | None, now: float
    ) -> tuple[RunSummary | None, str | None]:
        """The run's summary (None if it vanished meanwhile) and why its events are unreadable."""
        events_path = run / EVENTS_FILE
        trouble = None
        try:
            events, tracked.offset = follow_events(events_path, tracked.offset, tracked.bad_lines)
        except OSError as e:  # e.g. a directory in its place: listed with what else is known
            events, trouble = [], f"{events_path}: cannot be read ({e.strerror or e})"
        for event in events:
            tracked.add(event)
        try:
            last_change = max(
                p.stat().st_mtime for p in (events_path, run / CONFIG_FILE) if p.exists()
            )
        except (OSError, ValueError):
            return None, trouble  # deleted while we looked
        config = tracked.run_start.get("config")
        config = config if isinstance(config, dict) else read_config(run)
        pid_state = pid_alive(tracked.run_start.get("pid"), tracked.run_start.get("host"))
        summary = RunSummary(
            path=run,
            name=run.name,
            preset=str(config.get("preset", "?")),
            kind=run_kind(config),
            state=decide_state(tracked.run_end, launched_alive, pid_state, now - last_change),
            step=tracked.step,
            total_steps=tracked.total_steps,
            best_exact=tracked.best_exact,
            last_change=last_change,
        )
        return summary, trouble
