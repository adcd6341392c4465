"""Starting and stopping a training run from the dashboard, as a separate `trm train` process.

The process gets its own session, so a Ctrl-C in the dashboard's terminal does not reach it;
stop sends SIGINT, which the trainer answers by checkpointing and writing ``run_end``
(``interrupted``). Its console output goes to ``<runs>/<name>.log`` beside the run directory
(``trm train`` refuses a run directory that already holds files).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TrainProcess:
    """A `trm train` child process and where it writes."""

    run_dir: Path
    log: Path
    process: subprocess.Popen[bytes]
    stop_sent: bool = False

    @property
    def is_running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Ask the trainer to stop after its current step and save a checkpoint."""
        # Once only: the trainer takes a second SIGINT as "interrupt at once, no checkpoint".
        if self.is_running and not self.stop_sent:
            self.stop_sent = True
            self.process.send_signal(signal.SIGINT)


def run_name(preset: str, cgar: bool, now: float | None = None) -> str:
    """``<preset>-<cgar|baseline>-<YYYYmmdd-HHMMSS>``, the trainer's default naming."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{preset}-{'cgar' if cgar else 'baseline'}-{stamp}"


def train_argv(
    preset: str, cgar: bool, data: str, run_dir: Path, sets: list[str] | None = None
) -> list[str]:
    """The command line of the child: this Python running `trm train`."""
    argv = [sys.executable, "-m", "trm_tui.cli", "train", "--preset", preset]
    argv += ["--run-dir", str(run_dir)]
    if cgar:
        argv.append("--cgar")
    if data:
        argv += ["--data", data]
    for item in sets or []:
        argv += ["--set", item]
    return argv


def launch(
    runs_root: Path, preset: str, cgar: bool, data: str = "", sets: list[str] | None = None
) -> TrainProcess:
    """Start `trm train` writing a new run directory under ``runs_root``."""
    runs_root.mkdir(parents=True, exist_ok=True)
    name = run_name(preset, cgar)
    run_dir = runs_root / name
    suffix = 1
    while run_dir.exists():  # two starts within a second: never reuse a directory
        suffix += 1
        run_dir = runs_root / f"{name}-{suffix}"
    log = runs_root / f"{run_dir.name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            train_argv(preset, cgar, data, run_dir, sets),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return TrainProcess(run_dir, log, process)
