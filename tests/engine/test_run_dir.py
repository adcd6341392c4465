"""``latest_run_checkpoint``: the checkpoint `trm solve` uses when none is given."""

from __future__ import annotations

import os
from pathlib import Path

from engine.run_dir import latest_run_checkpoint


def make_run(runs: Path, name: str, files: list[str], mtime: float) -> Path:
    checkpoints = runs / name / "checkpoints"
    checkpoints.mkdir(parents=True)
    for file in files:
        (checkpoints / file).write_bytes(b"x")
        os.utime(checkpoints / file, (mtime, mtime))
    return checkpoints


def test_best_of_the_most_recently_modified_run(tmp_path: Path) -> None:
    old = make_run(tmp_path, "z-old", ["best.pt", "latest.pt"], 1_000)
    new = make_run(tmp_path, "a-new", ["best.pt", "latest.pt"], 2_000)
    make_run(tmp_path, "empty", [], 3_000)  # no checkpoint: not a candidate
    (tmp_path / "notes.txt").write_text("not a run")
    assert latest_run_checkpoint(tmp_path) == new / "best.pt"
    os.utime(old / "latest.pt", (4_000, 4_000))  # the old run was resumed and saved again
    assert latest_run_checkpoint(tmp_path) == old / "best.pt"


def test_latest_when_there_is_no_best(tmp_path: Path) -> None:
    only = make_run(tmp_path, "run", ["latest.pt"], 1_000)
    assert latest_run_checkpoint(tmp_path) == only / "latest.pt"


def test_none_without_runs(tmp_path: Path) -> None:
    assert latest_run_checkpoint(tmp_path / "missing") is None
    assert latest_run_checkpoint(tmp_path) is None
