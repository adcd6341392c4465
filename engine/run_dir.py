"""The run directory (DESIGN.md, "Run directory"): naming, creation, and what a resume reads.

::

    runs/<name>/
      config.json        the full resolved configuration (written once, at start)
      events.jsonl       the event stream
      checkpoints/       step-<N>.pt ..., latest.pt, best.pt

``latest.pt`` and ``best.pt`` are hard links to a step file (copies where a filesystem has no hard
links), so each checkpoint is written once however many names it has.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.checkpoint import save_checkpoint
from engine.config import RunConfig

CONFIG_FILE = "config.json"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS = "checkpoints"


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


def create_run_dir(root: Path, cfg: RunConfig) -> RunPaths:
    """Make a fresh run directory with ``config.json``; refuse one that already holds files."""
    if root.exists() and not root.is_dir():
        raise RunDirError(f"{root}: exists and is not a directory")
    if root.exists() and any(root.iterdir()):
        raise RunDirError(f"{root}: run directory is not empty (use --resume to continue a run)")
    paths = RunPaths(root)
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    return paths


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
    """Save ``state`` as ``step-<N>.pt``, point ``latest.pt`` (and ``best.pt``) at it, keep ``keep`` step files."""
    step_path = paths.step_file(step)
    save_checkpoint(step_path, state)
    _replace_with_link(step_path, paths.latest)
    if is_best:
        _replace_with_link(step_path, paths.best)
    for old in paths.step_files()[:-keep]:
        old.unlink(missing_ok=True)
    return step_path


def _replace_with_link(source: Path, target: Path) -> None:
    """Make ``target`` a hard link to ``source`` atomically (a copy where links are not possible)."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        # Some filesystems have no hard links; a copy costs disk space but is just as atomic.
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
