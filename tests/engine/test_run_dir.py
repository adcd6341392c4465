"""The run directory: the checkpoint `trm solve` uses when none is given, and the lock that lets
one process at a time write a run (a killed holder's lock is taken over)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.presets import tiny
from engine.run_dir import (
    RunDirError,
    RunPaths,
    check_new_run_dir,
    claim_new_run_dir,
    create_run_dir,
    in_use_by,
    latest_run_checkpoint,
    lock_run_dir,
)

ROOT = Path(__file__).resolve().parents[2]
# A process that takes a run's lock, says so, and holds it until its stdin closes (or it dies).
HOLDER = (
    "import sys; from pathlib import Path; from engine.run_dir import RunPaths, lock_run_dir; "
    "lock = lock_run_dir(RunPaths(Path(sys.argv[1]))); print('locked', flush=True); "
    "sys.stdin.read()"
)


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


def hold_in_another_process(root: Path) -> subprocess.Popen[str]:
    """A child process holding ``root``'s lock (returned once it holds it)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None and child.stdout.readline() == "locked\n"
    return child


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    with lock_run_dir(paths):
        record = json.loads(paths.lock.read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        # A second open of the lock file is a second holder, even in the same process.
        with pytest.raises(RunDirError) as refused:
            lock_run_dir(paths)
        message = str(refused.value)
        assert message.startswith(f"{tmp_path}: in use by pid {os.getpid()} on host ")
        assert "(started 20" in message
        assert in_use_by(paths) == message.removeprefix(f"{tmp_path}: in use by ")
    assert in_use_by(paths) is None
    with lock_run_dir(paths):  # released: free to take again
        pass


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    child = hold_in_another_process(tmp_path)
    with pytest.raises(RunDirError, match=rf"in use by pid {child.pid} on host"):
        lock_run_dir(paths)
    child.send_signal(signal.SIGKILL)  # dies without a word: the kernel drops its flock
    child.communicate()
    assert json.loads(paths.lock.read_text())["pid"] == child.pid  # its record is still there
    assert in_use_by(paths) is None
    with lock_run_dir(paths):
        assert json.loads(paths.lock.read_text())["pid"] == os.getpid()


def test_a_new_run_dir_may_hold_only_a_free_lock(tmp_path: Path) -> None:
    root = tmp_path / "run"
    check_new_run_dir(root)  # missing: fine
    root.mkdir()
    with lock_run_dir(RunPaths(root)):
        pass
    check_new_run_dir(root)  # a lock file left by a start that died before its config
    (root / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="run directory is not empty"):
        check_new_run_dir(root)
    with lock_run_dir(RunPaths(root)), pytest.raises(RunDirError, match="in use by pid"):
        check_new_run_dir(root)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="exists and is not a directory"):
        check_new_run_dir(tmp_path / "file")


def test_claiming_a_new_run_dir_holds_it(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "run"
    with claim_new_run_dir(root, tiny()):
        assert sorted(p.name for p in root.iterdir()) == ["checkpoints", "config.json", "lock"]
        with pytest.raises(RunDirError, match="in use by pid"):
            claim_new_run_dir(root, tiny())
    with pytest.raises(RunDirError, match="not empty"):
        create_run_dir(root, tiny())
