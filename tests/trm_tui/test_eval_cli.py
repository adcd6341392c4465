"""`trm eval --by clues|rating`: the bands partition the puzzles and their accuracies add up to the
whole set's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from puzzles.csv_format import write_csv
from puzzles.puzzle_set import PuzzleSet
from tests.engine.test_data import make_puzzles
from trm_tui.cli import app as trm_app
from trm_tui.eval_cli import eval_command

runner = CliRunner()
app = typer.Typer()
app.command()(eval_command)


@pytest.fixture(scope="module")
def run_and_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny trained run, and a held-out file mixing 51-clue and 31-clue puzzles."""
    root = tmp_path_factory.mktemp("eval")
    easy_q, easy_a = make_puzzles(6, blanks=30, seed=1)
    hard_q, hard_a = make_puzzles(4, blanks=50, seed=2)
    data = root / "mixed.csv"
    write_csv(
        data,
        PuzzleSet.from_grids(np.concatenate([easy_q, hard_q]), np.concatenate([easy_a, hard_a])),
    )
    run = root / "run"
    sets = ["--set", "train.max_steps=2", "--set", "train.eval_every=0"]
    trained = runner.invoke(
        trm_app, ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(run), *sets]
    )
    assert trained.exit_code == 0, trained.output
    return run, data


@pytest.mark.parametrize("by", ["clues", "rating"])
def test_bands_partition_the_set(run_and_data: tuple[Path, Path], by: str) -> None:
    run, data = run_and_data
    shown = runner.invoke(app, [str(run), "--data", str(data), "--by", by, "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["n_puzzles"] == 10 and report["by"] == by
    bands = report["bands"]
    assert sum(b["n_puzzles"] for b in bands) == 10
    cells = sum(b["cell_accuracy"] * b["n_puzzles"] for b in bands) / 10
    assert cells == pytest.approx(report["cell_accuracy"], abs=1e-6)
    if by == "clues":
        assert [(b["band"], b["n_puzzles"]) for b in bands] == [
            ("30-34 clues", 4),
            ("50-54 clues", 6),
        ]


def test_table_lists_the_bands(run_and_data: tuple[Path, Path]) -> None:
    run, data = run_and_data
    shown = runner.invoke(app, [str(run), "--data", str(data), "--by", "clues"])
    assert shown.exit_code == 0, shown.output
    assert "all" in shown.output and "30-34 clues" in shown.output and "50-54 clues" in shown.output


def test_unknown_band_kind_is_bad_usage(run_and_data: tuple[Path, Path]) -> None:
    run, _ = run_and_data
    assert runner.invoke(app, [str(run), "--by", "colour"]).exit_code == 2


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_both_groupings_in_one_pass_match_evaluating_each_band_alone(
    run_and_data: tuple[Path, Path], precision: str
) -> None:
    import torch

    from engine.evaluate import evaluate, load_trained_model
    from puzzles.bands import clue_bands
    from puzzles.dataset import load_dataset

    run, data = run_and_data
    shown = runner.invoke(
        app,
        [str(run), "--data", str(data), "--by", "clues", "--by", "rating", "--json",
         "--precision", precision],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["by"] == ["clues", "rating"] and report["precision"] == precision
    for grouping in ("clues", "rating"):
        bands = [b for b in report["bands"] if b["by"] == grouping]
        assert sum(b["n_puzzles"] for b in bands) == 10
    # A band's figures are those of evaluating its puzzles on their own.
    puzzles = load_dataset(str(data)).train
    model = load_trained_model(run, torch.device("cpu")).model
    for band in clue_bands(puzzles.questions):
        q, a = puzzles.questions[band.indices], puzzles.answers[band.indices]
        alone = evaluate(model, q, a, 3, precision)
        shown_band = next(b for b in report["bands"] if b["band"] == band.label)
        assert shown_band["exact_accuracy"] == pytest.approx(alone.exact_accuracy)
        assert shown_band["cell_accuracy"] == pytest.approx(alone.cell_accuracy)
        assert shown_band["avg_halt_step"] == pytest.approx(alone.avg_halt_step)


def test_an_unavailable_device_is_named_as_the_option(
    run_and_data: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    run, _ = run_and_data
    result = runner.invoke(app, [str(run), "--device", "cuda"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == ["trm: error: --device: 'cuda' requested but CUDA is not available"]


def test_sampled_solving_is_reported_beside_the_reference(run_and_data: tuple[Path, Path]) -> None:
    run, data = run_and_data
    args = [str(run), "--data", str(data), "--json", "--samples", "3", "--max-steps", "2"]
    shown = runner.invoke(app, [*args, "--select", "halt-first"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["samples"] == 3 and report["select"] == "halt-first"
    assert report["noise"] == 0.0 and report["max_steps"] == 2
    assert 0.0 <= report["sampled_exact"] <= 1.0
    # A barely trained model never halts: every sample runs both steps.
    assert report["steps_spent"] == 3 * 2
    bad = runner.invoke(app, [*args, "--select", "best"])
    assert bad.exit_code == 2 and "--select: must be one of" in bad.output
