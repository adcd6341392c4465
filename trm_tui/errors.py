"""Exit codes, the one-line error path, and what counts as bad input, shared by every command
(DESIGN.md)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from engine.stop import EXIT_INTERRUPTED, EXIT_TERMINATED  # noqa: F401  (re-exported)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``trm: error: <message>`` on one line to stderr and exit with ``code``."""
    _stderr.print(f"[bold red]trm: error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code)


def input_errors() -> tuple[type[Exception], ...]:
    """Exceptions that mean bad input (exit 2), imported lazily."""
    from engine.checkpoint import CheckpointError
    from engine.config import ConfigError
    from engine.data import DataError
    from engine.run_dir import RunDirError
    from puzzles.parse import PuzzleFormatError

    return ConfigError, DataError, RunDirError, CheckpointError, PuzzleFormatError


def check_data_path(data: str) -> None:
    """A missing data file is bad input, caught before a run directory is made."""
    if Path(data).exists():
        return
    parts = data.split(",")
    missing = [p for p in parts if not Path(p).exists()]
    if len(parts) != 2 or missing:
        fail(f"{missing[0] if missing else data}: no such data file or folder")
