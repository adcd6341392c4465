"""`trm bench scaling`: every K and rule from one run, priced against one trajectory; a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.trm_tui.test_solve_cli import save_tiny_model
from trm_tui.cli import app
from trm_tui.plots import matplotlib_available

runner = CliRunner()
EASY = Path(__file__).parents[2] / "puzzles" / "samples" / "easy.txt"


def test_json_rows_cover_every_k_rule_and_noise(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "at_once.pt", 10.0)  # every sample halts at step 1
    png = tmp_path / "curve.png"
    args = ["bench", "scaling", str(EASY), "--checkpoint", str(model), "--samples", "1,2,4"]
    args += ["--noise", "0", "--noise", "0.2", "--precision", "fp32", "--json"]
    if matplotlib_available():
        args += ["--png", str(png)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == "scaling" and report["n_puzzles"] == 5
    rows = report["rows"]
    assert len(rows) == 3 * 3 * 2
    assert {(r["noise"], r["k"], r["rule"]) for r in rows} == {
        (n, k, rule)
        for n in (0.0, 0.2)
        for k in (1, 2, 4)
        for rule in ("halt-first", "valid", "vote")
    }
    assert report["one_trajectory_steps"] == 1.0
    for r in rows:
        # All samples fire at step 1: each rule decides then, and K samples cost K steps.
        assert r["steps"] == r["k"] and r["ratio"] == r["k"]
        assert 0.0 <= r["exact"] <= 1.0
    if matplotlib_available():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--samples", "1,x"], "--samples: expected comma-separated counts"),
        (["--samples", "0,2"], "--samples: every K must be >= 1"),
        (["--noise", "-1"], "--noise: must be >= 0"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["bench", "scaling", str(EASY), *args])
    assert result.exit_code == 2 and message in result.output, result.output
