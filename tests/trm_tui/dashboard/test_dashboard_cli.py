"""`trm dashboard PATH`: bad paths are one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from trm_tui.dashboard_cli import dashboard_command

runner = CliRunner()
app = typer.Typer()
app.command()(dashboard_command)


def test_a_missing_path_is_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(app, [str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope: no such run directory or runs folder" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_file_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("{}\n")
    result = runner.invoke(app, [str(path)])
    assert result.exit_code == 2 and "not a directory" in result.output
