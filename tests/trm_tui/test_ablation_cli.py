"""`trm bench ablation` through Typer's CliRunner on the tiny preset: results, table and plots are
written; Ctrl-C stops with exit 130 and a rerun resumes; bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.engine.test_data import write_puzzles
from trm_tui.ablation_cli import ablation_command
from trm_tui.plots import ACCURACY_PNG, WEIGHTS_PNG

runner = CliRunner()
app = typer.Typer()
app.command()(ablation_command)


def study_args(tmp_path: Path, *extra: str) -> list[str]:
    data = write_puzzles(tmp_path / "puzzles.csv", 16)
    sets = [f"data.path={data}", "train.max_steps=4", "train.eval_every=2"]
    args = ["--preset", "tiny", "--seeds", "1", "--out", str(tmp_path / "study")]
    return [*args, *[a for s in sets for a in ("--set", s)], *extra]


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_study_writes_results_table_and_plots(tmp_path: Path) -> None:
    result = runner.invoke(app, study_args(tmp_path, "--variants", "baseline,cgar"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "study"
    results = json.loads((out / "results.json").read_text())
    assert [r["variant"] for r in results["runs"]] == ["baseline", "cgar"]
    assert "| CGAR (both) |" in result.stdout  # the table, on stdout
    assert is_png(out / ACCURACY_PNG) and is_png(out / WEIGHTS_PNG)
    assert (out / "runs" / "cgar-seed0" / "checkpoints" / "latest.pt").is_file()


@pytest.mark.slow
def test_ctrl_c_stops_and_a_rerun_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.stop
    import trm_tui.plots

    # As if Ctrl-C came during the first step: the trainer stops after it with a checkpoint.
    monkeypatch.setattr(engine.stop.StopOnSignal, "requested", lambda self: True)
    args = study_args(tmp_path, "--variants", "hsw")
    result = runner.invoke(app, args)
    assert result.exit_code == 130, result.output
    assert "run the same command again to resume" in result.output
    events = tmp_path / "study" / "runs" / "hsw-seed0" / "events.jsonl"
    assert '"reason":"interrupted"' in events.read_text()

    monkeypatch.undo()
    # Without matplotlib the results are still written, and one line says how to get the plots.
    monkeypatch.setattr(trm_tui.plots, "matplotlib_available", lambda: False)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "plots skipped: matplotlib is not installed (pip install 'trm[plots]')" in result.output
    assert not (tmp_path / "study" / ACCURACY_PNG).exists()
    assert '"resumed":true' in events.read_text()
    assert json.loads((tmp_path / "study" / "results.json").read_text())["runs"][0]["seed"] == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--variants", "baseline,both"], "--variants: unknown variant 'both'"),
        (["--variants", "cgar+adamw"], "--variants: unknown lever 'adamw' in 'cgar+adamw'"),
        (["--scale", "huge"], "scale: unknown 'huge' (known: readme, quick)"),
        (["--seeds", "0"], "--seeds: must be >= 1"),
        (["--set", "train.batch_size=many"], "train.batch_size: expected an integer"),
        (["--preset", "huge"], "unknown preset 'huge'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    result = runner.invoke(app, study_args(tmp_path, *extra))
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "study").exists()


def test_a_folder_of_another_study_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "study"
    out.mkdir()
    (out / "results.json").write_text('{"version": 1, "config": {"preset": "cpu"}}')
    result = runner.invoke(app, study_args(tmp_path))
    assert result.exit_code == 2 and "results.json: this study was made with other" in result.output
    assert (out / "results.json").read_text() == '{"version": 1, "config": {"preset": "cpu"}}'


def test_importing_the_command_imports_neither_torch_nor_matplotlib() -> None:
    code = (
        "import sys, trm_tui.ablation_cli, trm_tui.plots; "
        "print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_plots_are_drawn_from_results_alone(tmp_path: Path) -> None:
    from trm_tui.plots import write_plots

    curve = [
        {"step": 2, "train_s": 1.0, "exact_accuracy": 0.0, "cell_accuracy": 0.5},
        {"step": 4, "train_s": 2.0, "exact_accuracy": None, "cell_accuracy": 0.6},
    ]
    results = {
        "preset": "tiny",
        "config": {"curriculum": {"hsw_lambda": 0.7}},
        "hsw_weights": [0.4, 0.3, 0.2, 0.1],
        "runs": [
            {"variant": "baseline", "curve": curve, "stages": []},
            {
                "variant": "cgar",
                "curve": curve,
                "stages": [{"stage": 2, "step": 1, "train_s": 0.4}],
            },
            {"variant": "cgar+muon", "curve": curve, "stages": []},  # two seeds: a band
            {"variant": "cgar+muon", "curve": curve[:1], "stages": []},  # one evaluation less
        ],
    }
    paths = write_plots(results, tmp_path)
    assert paths == [tmp_path / ACCURACY_PNG, tmp_path / WEIGHTS_PNG]
    assert all(is_png(p) for p in paths)
