"""`trm dashboard PATH`: bad paths are one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_without_a_path_it_opens_on_runs_even_before_any_run_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trm_tui.dashboard.app import Dashboard

    opened: list[Path] = []
    monkeypatch.setattr(Dashboard, "run", lambda self: opened.append(self.source.root))
    monkeypatch.chdir(tmp_path)  # a fresh install: no runs/ yet
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    assert opened == [Path("runs")]
    assert not (tmp_path / "runs").exists()  # nothing is created until a run is started
