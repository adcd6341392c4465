"""`trm train` and `trm eval` through Typer's CliRunner: a run directory is written and read back;
bad input is one line and exit code 2, and a failed start leaves nothing behind. Real `trm train`
processes show SIGTERM ending a run with a checkpoint, and that a run in use is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

import engine.session
import engine.stop
from engine.checkpoint import load_checkpoint, save_checkpoint
from engine.events import read_events, validate_event
from tests.engine.test_data import write_puzzles
from trm_tui.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
# Generous: a `trm train` process imports torch first, on a 2-core machine shared with others.
DEADLINE_S = 300.0
# A run that would take hours: it ends only when told to.
ENDLESS = ["--set", "train.max_steps=1000000", "--set", "train.eval_every=1000000"]


@pytest.mark.slow
def test_train_then_eval(tmp_path: Path) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    args = ["train", "--cgar", "--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir)]
    result = runner.invoke(
        app, [*args, "--set", "train.max_steps=4", "--set", "train.eval_every=2"]
    )
    assert result.exit_code == 0, result.output
    assert "run finished" in result.output
    config = json.loads((run_dir / "config.json").read_text())
    assert (
        config["preset"] == "tiny" and config["curriculum"]["depth"] and config["curriculum"]["hsw"]
    )
    assert config["train"]["max_steps"] == 4 and config["data"]["path"] == str(data)
    events = read_events(run_dir / "events.jsonl")
    assert events[0]["kind"] == "run_start" and events[-1]["reason"] == "finished"
    assert all(validate_event(e) == [] for e in events)
    assert (run_dir / "checkpoints" / "latest.pt").is_file()

    shown = runner.invoke(app, ["eval", str(run_dir), "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["n_puzzles"] == 12  # the held-out half of 24 puzzles (n_test 16, at most half)
    assert 0.0 <= report["cell_accuracy"] <= 1.0 and 1.0 <= report["avg_halt_step"] <= 4.0
    table = runner.invoke(
        app, ["eval", str(run_dir / "checkpoints" / "latest.pt"), "--data", str(data)]
    )
    assert table.exit_code == 0 and "exact" in table.output and "24" in table.output

    again = runner.invoke(app, [*args, "--set", "train.max_steps=4"])
    assert again.exit_code == 2 and "not empty" in again.output


def test_resume_continues_a_stopped_run(tmp_path: Path) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    sets = ["--set", "train.max_steps=3", "--set", "train.eval_every=2"]
    first = runner.invoke(
        app, ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir), *sets]
    )
    assert first.exit_code == 0
    # Pretend the run was cut off after step 2: point latest.pt at that checkpoint.
    (run_dir / "checkpoints" / "latest.pt").unlink()
    (run_dir / "checkpoints" / "step-2.pt").rename(run_dir / "checkpoints" / "latest.pt")
    resumed = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert resumed.exit_code == 0, resumed.output
    starts = [e for e in read_events(run_dir / "events.jsonl") if e["kind"] == "run_start"]
    assert [e["step"] for e in starts] == [0, 2]
    mixed = runner.invoke(app, ["train", "--resume", str(run_dir), "--preset", "tiny"])
    assert mixed.exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--preset", "nope"], "unknown preset"),
        (["train", "--preset", "tiny", "--set", "train.batch_size=zero"], "train.batch_size"),
        (["train", "--preset", "tiny", "--set", "nosuch.field=1"], "unknown section"),
        (["train", "--preset", "tiny", "--data", "missing.csv"], "missing.csv: no such"),
        (["train", "--resume", "no-such-run"], "no-such-run"),
        (["train", "--preset", "tiny", "--set", "optim.lr=inf"], "optim.lr: must be a finite"),
        (["train", "--preset", "tiny", "--set", "optim.lr=nan"], "optim.lr: must be a finite"),
        (
            ["train", "--preset", "tiny", "--set", "train.batch_size=99999999999999999999"],
            "train.batch_size: must fit in 64 bits",
        ),
        (["eval", "no-such-run"], "no-such-run"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("trm: error:")


def test_help_does_not_import_torch() -> None:
    code = "import sys, trm_tui.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_display_shows_what_the_events_say() -> None:
    from rich.console import Console

    from engine.events import make_event
    from trm_tui.progress import TrainDisplay

    console = Console(record=True, width=100, force_terminal=False)
    display = TrainDisplay(console, "runs/x")
    config = {"curriculum": {"depth": True, "stages": [[0.3, 2, 1], [0.6, 4, 2], [1.0, 6, 3]]}}
    start = {"config": config, "total_steps": 10, "device": "cpu", "n_params": 1234}
    metrics = {"loss": 1.5, "lm_loss": 1.25, "halt_loss": 0.5, "lr": 1e-3, "cell_accuracy": 0.625,
               "exact_accuracy": None, "halt_accuracy": 0.75, "avg_steps": 3.5,
               "depth": {"n": 4, "T": 2}, "stage": 2, "hsw_weights": None, "samples_per_s": 42.0,
               "eta_s": 75.0}  # fmt: skip
    evaluation = {"split": "test", "exact_accuracy": 0.25, "cell_accuracy": 0.875,
                  "halt_accuracy": 0.5, "avg_halt_step": 7.0, "n_puzzles": 8}  # fmt: skip
    with display:
        display.handle(make_event("run_start", 0, start))
        display.handle(make_event("stage", 4, {"stage": 2, "depth": {"n": 4, "T": 2}, "rho": 0.4}))
        display.handle(make_event("train", 5, metrics))
        display.handle(make_event("eval", 5, evaluation))
        display.handle(make_event("run_end", 5, {"reason": "interrupted", "message": "stopped"}))
    text = console.export_text()
    for shown in ("stage 2/3: depth n=4, T=2", "2/3  (n=4, T=2)", "1,234 params", "0.6250", "42.0",
                  "1:15", "step 5/10", "exact 0.2500", "run interrupted: stopped"):  # fmt: skip
        assert shown in text, shown


def one_line_error(result: Any, code: int = 2) -> str:
    """The single ``trm: error:`` line of a failed command (asserting that is all it printed)."""
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trm: error:"), result.output
    return lines[0]


@pytest.mark.parametrize("existing", [False, True], ids=["new-dir", "empty-dir"])
@pytest.mark.parametrize(
    ("data", "sets", "message"),
    [
        ("bad.csv", [], "bad.csv:1: unexpected header 'quizzes,solutions'"),
        ("good.csv", ["train.device=cuda"], "train.device: 'cuda' requested but CUDA is not"),
        ("good.csv", ["model.d=10000000"], "the model (model.d=10000000, "),
        ("good.csv", [f"train.batch_size={2**62}"], f"the batch (train.batch_size={2**62})"),
        ("good.csv", ["optim.lr=inf"], "optim.lr: must be a finite number"),
    ],
)
def test_a_failed_start_leaves_no_run_directory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    existing: bool,
    data: str,
    sets: list[str],
    message: str,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    write_puzzles(tmp_path / "good.csv", 24)
    (tmp_path / "bad.csv").write_text("quizzes,solutions\nnot a puzzle,at all\n")
    run_dir = tmp_path / "run"
    if existing:
        run_dir.mkdir()
    args = ["train", "--preset", "tiny", "--data", str(tmp_path / data), "--run-dir", str(run_dir)]
    result = runner.invoke(app, [*args, *[f"--set={item}" for item in sets]])
    assert message in one_line_error(result)
    assert (list(run_dir.iterdir()) == []) if existing else not run_dir.exists()


def test_a_model_too_large_to_allocate_is_one_line(tmp_path: Path) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    args = ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(tmp_path / "run")]
    line = one_line_error(runner.invoke(app, [*args, "--set", "model.d=10000000"]))
    assert "model.d=10000000" in line and "too large to allocate on cpu (tried to allocate" in line


def test_ctrl_c_before_training_starts_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the data loads

    monkeypatch.setattr(engine.session, "load_data", interrupted)
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir)]
    line = one_line_error(runner.invoke(app, args), code=130)
    assert line == "trm: error: interrupted before training started"
    assert not run_dir.exists()


def train_tiny(tmp_path: Path, *sets: str) -> Path:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir)]
    result = runner.invoke(app, [*args, *[f"--set={item}" for item in sets]])
    assert result.exit_code == 0, result.output
    return run_dir


def _garbage(latest: Path) -> str:
    latest.write_bytes(b"not a checkpoint at all")
    return "latest.pt: not a readable torch checkpoint"


def _not_a_training_state(latest: Path) -> str:
    save_checkpoint(latest, {"step": 2, "model": {}})
    return "latest.pt: not a training checkpoint this run can resume"


@pytest.mark.parametrize("spoil", [_garbage, _not_a_training_state])
def test_a_failed_resume_draws_nothing_and_appends_nothing(
    tmp_path: Path, spoil: Callable[[Path], str]
) -> None:
    run_dir = train_tiny(tmp_path, "train.max_steps=2")
    latest = run_dir / "checkpoints" / "latest.pt"
    latest.unlink()  # a hard link to step-2.pt: replace it, not the step file
    message = spoil(latest)
    events = (run_dir / "events.jsonl").read_bytes()
    line = one_line_error(runner.invoke(app, ["train", "--resume", str(run_dir)]))
    assert message in line
    assert (run_dir / "events.jsonl").read_bytes() == events


def test_resuming_a_folder_that_is_not_a_run_touches_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("mine")
    line = one_line_error(runner.invoke(app, ["train", "--resume", str(folder)]))
    assert "config.json: missing; not a trm run directory" in line
    assert [p.name for p in folder.iterdir()] == ["todo.txt"]


def test_weights_that_became_non_finite_end_the_run_without_a_checkpoint(tmp_path: Path) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir)]
    sets = ["--set", "optim.lr=1e38", "--set", "optim.lr_warmup_steps=0"]
    result = runner.invoke(app, [*args, *sets, "--set", "train.max_steps=4"])
    assert result.exit_code == 1
    # The last line of the output (the live panel has no newline before it under CliRunner).
    assert result.output.rstrip().endswith(
        "trm: error: the weights became non-finite at step 1; "
        "no checkpoint was saved (none exists yet)"
    )
    assert read_events(run_dir / "events.jsonl")[-1]["reason"] == "failed"
    assert "no checkpoints/best.pt" in one_line_error(runner.invoke(app, ["eval", str(run_dir)]))


def start_training(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """A real `trm train` process (output in ``train-<pid>.log``)."""
    log = tmp_path / f"train-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "trm_tui.cli", "train", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
        )


def wait_for(
    process: subprocess.Popen[bytes], events: Path, ready: Callable[[list[dict]], bool]
) -> list[dict]:
    """The run's events once ``ready`` says so; fails if the process exits first."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        seen = read_events(events) if events.exists() else []
        if ready(seen):
            return seen
        assert process.poll() is None, f"trm train exited with {process.returncode}"
        time.sleep(0.05)  # the poll interval, not a wait for anything
    raise AssertionError(f"no such state of {events} within {DEADLINE_S} s")


def ended(process: subprocess.Popen[bytes]) -> int:
    return process.wait(timeout=DEADLINE_S)


def after_start(n: int, kind: str) -> Callable[[list[dict]], bool]:
    """Ready once an event of ``kind`` follows the ``n``-th ``run_start`` (1-based)."""

    def ready(events: list[dict]) -> bool:
        starts = [i for i, e in enumerate(events) if e["kind"] == "run_start"]
        return len(starts) >= n and any(e["kind"] == kind for e in events[starts[n - 1] :])

    return ready


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_the_run_resumes_from_it(tmp_path: Path) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    events_path = run_dir / "events.jsonl"
    fresh = ["--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir), *ENDLESS]
    first = start_training(tmp_path, *fresh, "--set", "train.checkpoint_every=1000000")
    wait_for(first, events_path, after_start(1, "train"))
    first.send_signal(signal.SIGTERM)
    assert ended(first) == 143
    events = read_events(events_path)
    end, saved = events[-1], [e for e in events if e["kind"] == "checkpoint"]
    assert end["kind"] == "run_end" and end["reason"] == "interrupted"
    step = end["step"]
    assert end["message"] == f"terminated by SIGTERM at step {step} of 1000000; checkpoint saved"
    assert [e["step"] for e in saved] == [step]  # the only checkpoint: the one SIGTERM asked for
    assert load_checkpoint(run_dir / "checkpoints" / "latest.pt")["step"] == step

    second = start_training(tmp_path, "--resume", str(run_dir))
    events = wait_for(second, events_path, after_start(2, "train"))
    second.send_signal(signal.SIGTERM)
    starts = [i for i, e in enumerate(events) if e["kind"] == "run_start"]
    assert len(starts) == 2
    restart = events[starts[1]]
    assert restart["step"] == step and restart["resumed"] and restart["pid"] == second.pid
    assert next(e for e in events[starts[1] :] if e["kind"] == "train")["step"] == step + 1
    assert ended(second) == 143
    assert read_events(events_path)[-1]["reason"] == "interrupted"


@pytest.mark.slow
def test_a_run_in_use_is_refused_and_a_killed_ones_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    events_path = run_dir / "events.jsonl"
    fresh = ["--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir), *ENDLESS]
    first = start_training(tmp_path, *fresh, "--set", "train.checkpoint_every=1")
    try:
        wait_for(first, events_path, after_start(1, "checkpoint"))
        holder = f"{run_dir}: in use by pid {first.pid} on host "
        assert holder in one_line_error(runner.invoke(app, ["train", "--resume", str(run_dir)]))
        assert holder in one_line_error(runner.invoke(app, ["train", *fresh]))
        mine = [e for e in read_events(events_path) if e.get("pid") == os.getpid()]
        assert mine == []  # the refused ones wrote no event
    finally:
        first.send_signal(signal.SIGKILL)  # dies holding the lock, without a word
        ended(first)
    assert read_events(events_path)[-1]["kind"] != "run_end"
    monkeypatch.setattr(engine.stop.StopOnSignal, "requested", lambda self: "interrupted by SIGINT")
    resumed = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert resumed.exit_code == 130, resumed.output
    events = read_events(events_path)
    assert [e["pid"] for e in events if e["kind"] == "run_start"] == [first.pid, os.getpid()]
    assert events[-1]["kind"] == "run_end" and events[-1]["reason"] == "interrupted"


@pytest.mark.slow
def test_python_m_engine_trainer_stops_on_sigterm_with_a_checkpoint(tmp_path: Path) -> None:
    # What torchrun and cluster schedulers run; SIGTERM must save and exit 143 there too.
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run_dir = tmp_path / "run"
    events_path = run_dir / "events.jsonl"
    sets = [f"data.path={data}", "train.max_steps=1000000", "train.eval_every=1000000"]
    args = ["--run-dir", str(run_dir), "--preset", "tiny", *(a for s in sets for a in ("--set", s))]
    log = tmp_path / "trainer.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.trainer", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
        )
    wait_for(process, events_path, after_start(1, "train"))
    process.send_signal(signal.SIGTERM)
    assert ended(process) == 143, log.read_text()
    end = read_events(events_path)[-1]
    assert end["kind"] == "run_end" and end["reason"] == "interrupted"
    assert end["message"].startswith("terminated by SIGTERM at step ")
    assert load_checkpoint(run_dir / "checkpoints" / "latest.pt")["step"] == end["step"]
