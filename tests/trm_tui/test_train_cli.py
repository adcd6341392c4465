"""`trm train` and `trm eval` through Typer's CliRunner: a run directory is written and read back;
bad input is one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.events import read_events, validate_event
from tests.engine.test_data import write_puzzles
from trm_tui.cli import app

runner = CliRunner()


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
               "exact_accuracy": None, "halt_accuracy": 0.75, "avg_steps": 3.5, "depth": {"n": 4, "T": 2},
               "stage": 2, "hsw_weights": None, "samples_per_s": 42.0, "eta_s": 75.0}  # fmt: skip
    evaluation = {"split": "test", "exact_accuracy": 0.25, "cell_accuracy": 0.875, "halt_accuracy": 0.5,
                  "avg_halt_step": 7.0, "n_puzzles": 8}  # fmt: skip
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
