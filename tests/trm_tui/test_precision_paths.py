"""Both precision paths on every machine: a tiny run trained, evaluated and solved with fp32 and
with bf16 forced (bf16 is emulated where the CPU lacks it: slow, but the tiny preset is small).
Each command says which precision it used, and `trm eval` gives the figures the run's own
evaluation logged for the same checkpoint: one model, one answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.events import read_events
from tests.engine.test_data import write_puzzles
from trm_tui.cli import app

runner = CliRunner()
EASY = Path(__file__).parents[2] / "puzzles" / "samples" / "easy.txt"


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_train_eval_solve_in_a_forced_precision(tmp_path: Path, precision: str) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    run = tmp_path / "run"
    trained = runner.invoke(
        app,
        ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(run),
         "--set", "train.max_steps=4", "--set", "train.eval_every=2",
         "--set", f"train.precision={precision}"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    where = f"threads, {precision})"
    assert where in trained.output
    events = read_events(run / "events.jsonl")
    assert where in events[0]["device"] and events[-1]["reason"] == "finished"

    shown = runner.invoke(app, ["eval", str(run), "--json", "--precision", precision])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["precision"] == precision and where in report["device"]
    logged = next(e for e in events if e["kind"] == "eval" and e["step"] == report["step"])
    for key in ("exact_accuracy", "cell_accuracy", "halt_accuracy", "avg_halt_step"):
        assert report[key] == pytest.approx(logged[key]), key

    solved = runner.invoke(
        app, ["solve", str(EASY), "--checkpoint", str(run), "--precision", precision]
    )
    assert solved.exit_code == 0, solved.output
    assert where in solved.output and "solved" in solved.output
