"""Exit codes and the one-line error path shared by every command (DESIGN.md)."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``trm: error: <message>`` on one line to stderr and exit with ``code``."""
    _stderr.print(f"[bold red]trm: error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code)
