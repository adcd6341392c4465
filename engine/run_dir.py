"""The run directory (DESIGN.md, "Run directory"): naming, creation, its lock, and what a resume
reads.

::

    runs/<name>/
      config.json        the full resolved configuration (written once, at start)
      events.jsonl       the event stream
      checkpoints/       step-<N>.pt ..., latest.pt, best.pt
      lock               pid, host and start time of the process that trains it (or last did)

``latest.pt`` and ``best.pt`` are hard links to a step file (copies where a filesystem has no hard
links), so each checkpoint is written once however many names it has.

One process trains a run directory at a time: it holds an exclusive ``flock`` on ``lock`` from
before its first write until it ends. Two writers would interleave their events and overwrite
each other's checkpoints. The kernel drops a ``flock`` when its process dies, however it dies
(``kill -9`` included), so the lock of a dead process is simply taken over, with no pid
guessing; the pid and host in the file only name the holder in the refusal. The file is never
deleted: deleting a locked file would let a second process lock a new file under the same name
while the first still holds the old one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from engine.checkpoint import save_checkpoint
from engine.config import RunConfig

CONFIG_FILE = "config.json"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS = "checkpoints"
LOCK_FILE = "lock"


class RunDirError(ValueError):
    """A run directory cannot be used as asked; the message names it."""


@dataclass(frozen=True)
class RunPaths:
    """The files of one run directory."""

    root: Path

    @property
    def config(self) -> Path:
        """``config.json``."""
        return self.root / CONFIG_FILE

    @property
    def events(self) -> Path:
        """``events.jsonl``."""
        return self.root / EVENTS_FILE

    @property
    def checkpoints(self) -> Path:
        """The ``checkpoints/`` folder."""
        return self.root / CHECKPOINTS

    @property
    def lock(self) -> Path:
        """``lock``: held by the process that trains the run."""
        return self.root / LOCK_FILE

    @property
    def latest(self) -> Path:
        """``checkpoints/latest.pt``: where a resume starts."""
        return self.checkpoints / "latest.pt"

    @property
    def best(self) -> Path:
        """``checkpoints/best.pt``: the best evaluation exact accuracy so far."""
        return self.checkpoints / "best.pt"

    def trained(self) -> Path | None:
        """The checkpoint that stands for the trained run: ``best.pt``, else ``latest.pt``, else
        None while the run has saved none."""
        return next((path for path in (self.best, self.latest) if path.is_file()), None)

    def step_file(self, step: int) -> Path:
        """``checkpoints/step-<N>.pt``."""
        return self.checkpoints / f"step-{step}.pt"

    def step_files(self) -> list[Path]:
        """Existing ``step-<N>.pt`` files, oldest step first."""
        found = []
        for path in self.checkpoints.glob("step-*.pt"):
            number = path.stem.removeprefix("step-")
            if number.isdigit():
                found.append((int(number), path))
        return [path for _, path in sorted(found)]


def default_name(cfg: RunConfig, now: float | None = None) -> str:
    """``<preset>-<cgar|depth|hsw|baseline>-<YYYYmmdd-HHMMSS>``."""
    cur = cfg.curriculum
    kind = (
        "cgar"
        if cur.depth and cur.hsw
        else "depth"
        if cur.depth
        else "hsw"
        if cur.hsw
        else "baseline"
    )
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{cfg.preset}-{kind}-{stamp}"


def check_new_run_dir(root: Path) -> None:
    """Refuse a path that is not a directory, or a directory that holds files (a lock aside)."""
    if root.exists() and not root.is_dir():
        raise RunDirError(f"{root}: exists and is not a directory")
    if root.exists() and any(p.name != LOCK_FILE for p in root.iterdir()):
        holder = in_use_by(RunPaths(root))
        if holder is not None:
            raise RunDirError(f"{root}: in use by {holder}")
        raise RunDirError(f"{root}: run directory is not empty (use --resume to continue a run)")


def create_run_dir(root: Path, cfg: RunConfig) -> RunPaths:
    """Make a fresh run directory with ``config.json``; refuse one that already holds files."""
    check_new_run_dir(root)
    paths = RunPaths(root)
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    return paths


def claim_new_run_dir(root: Path, cfg: RunConfig) -> RunLock:
    """:func:`create_run_dir` under the run's lock, which the caller then holds while it trains.

    Of two processes starting on one directory at once, one writes it and the other is refused.
    """
    check_new_run_dir(root)  # before making anything, so that a refusal leaves no trace
    root.mkdir(parents=True, exist_ok=True)
    lock = lock_run_dir(RunPaths(root))
    try:
        create_run_dir(root, cfg)  # checked again under the lock: another may have come first
    except BaseException:
        lock.release()
        raise
    return lock


class RunLock:
    """The held lock of one run directory; :meth:`release` (or leaving ``with``) lets it go."""

    def __init__(self, paths: RunPaths, fd: int) -> None:
        self.paths = paths
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the run directory back (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_run_dir(paths: RunPaths) -> RunLock:
    """Take the lock of an existing run directory, or raise :class:`RunDirError` naming its
    holder."""
    try:
        # Opened without truncating: while another process holds it, its content names that one.
        fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise RunDirError(f"{paths.lock}: cannot open the run's lock file: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe_holder(fd)
        os.close(fd)
        raise RunDirError(f"{paths.root}: in use by {holder}") from None
    except OSError as e:
        os.close(fd)
        raise RunDirError(f"{paths.lock}: cannot lock the run directory: {e.strerror}") from None
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    return RunLock(paths, fd)


def in_use_by(paths: RunPaths) -> str | None:
    """Who holds the run's lock now (``pid 1234 on host h (started ...)``), or None if nobody."""
    try:
        fd = os.open(paths.lock, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        # A shared lock is refused only while someone holds the exclusive one; it writes nothing.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe_holder(fd)
    finally:
        os.close(fd)
    return None


def _describe_holder(fd: int) -> str:
    """``pid 1234 on host h (started 2025-01-02 03:04:05)``, from the lock file's content."""
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"{}")
        pid, host, started = record["pid"], record["host"], float(record["started"])
    except (OSError, ValueError, TypeError, KeyError):
        # The holder has locked but not yet written its record (or the file holds something else).
        return "another process"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    return f"pid {pid} on host {host} (started {stamp})"


def open_for_resume(root: Path) -> tuple[RunPaths, RunConfig]:
    """An existing run directory and its configuration, checked to have a ``latest.pt``."""
    paths = RunPaths(root)
    if not root.is_dir():
        raise RunDirError(f"{root}: no such run directory")
    if not paths.config.is_file():
        raise RunDirError(f"{paths.config}: missing; not a trm run directory")
    if not paths.latest.is_file():
        raise RunDirError(f"{paths.latest}: missing; this run has no checkpoint to resume from")
    try:
        cfg = RunConfig.from_dict(json.loads(paths.config.read_text()))
    except (json.JSONDecodeError, ValueError, TypeError) as e:
        raise RunDirError(f"{paths.config}: not a valid run configuration: {e}") from None
    return paths, cfg


def latest_run_checkpoint(runs_dir: Path) -> Path | None:
    """``best.pt`` (else ``latest.pt``) of the most recently modified run under ``runs_dir``."""
    if not runs_dir.is_dir():
        return None
    found = []
    for root in runs_dir.iterdir():
        paths = RunPaths(root)
        trained = paths.trained()
        if trained is not None:
            # A run's age is that of its newest checkpoint: the run directory's own mtime only
            # changes when entries are added, not when a checkpoint is replaced.
            modified = max(p.stat().st_mtime for p in (paths.best, paths.latest) if p.is_file())
            found.append((modified, root.name, trained))
    return max(found)[2] if found else None


def write_checkpoint(
    paths: RunPaths, step: int, state: dict[str, Any], is_best: bool, keep: int = 3
) -> Path:
    """Save ``state`` as ``step-<N>.pt``, point ``latest.pt`` (and ``best.pt``) at it, keep ``keep``
    step files."""
    step_path = paths.step_file(step)
    save_checkpoint(step_path, state)
    _replace_with_link(step_path, paths.latest)
    if is_best:
        _replace_with_link(step_path, paths.best)
    for old in paths.step_files()[:-keep]:
        old.unlink(missing_ok=True)
    return step_path


def _replace_with_link(source: Path, target: Path) -> None:
    """Make ``target`` a hard link to ``source`` atomically (a copy where links are not
    possible)."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        # Some filesystems have no hard links; a copy costs disk space but is just as atomic.
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
