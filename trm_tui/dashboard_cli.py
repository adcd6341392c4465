"""`trm dashboard [RUN_DIR | RUNS_DIR]`: the Textual dashboard (``trm_tui.dashboard``).

Textual and the dashboard are imported inside the command, so ``trm --help`` stays fast; the
dashboard itself imports torch only when the solve tab runs a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trm_tui.errors import fail

DEFAULT_RUNS = Path("runs")


def dashboard_command(
    target: Annotated[
        Path | None, typer.Argument(help="A runs folder (default runs/) or one run directory.")
    ] = None,
) -> None:
    """Live training charts, the runs list, a step-by-step solve view, and run launching.

    Without a path the dashboard opens on ``runs/`` even before it exists (a fresh install: the
    runs list says how to start one, the solve view uses the shipped model); a path given that
    does not exist is bad input."""
    if target is None:
        target = DEFAULT_RUNS
    elif not target.exists():
        fail(f"{target}: no such run directory or runs folder")
    if target.exists() and not target.is_dir():
        fail(f"{target}: not a directory (give a run directory or a runs folder)")
    from trm_tui.dashboard.app import Dashboard
    from trm_tui.dashboard.runs import is_run_dir
    from trm_tui.dashboard.source import FileSource

    Dashboard(FileSource(target), open_run=target if is_run_dir(target) else None).run()
