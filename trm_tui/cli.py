"""The `trm` command: the root Typer app. Sub-commands live in their own modules and import
torch only inside their functions, so `trm --help` and `trm data ...` start fast."""

from __future__ import annotations

import typer

from trm_tui.data_cli import app as data_app
from trm_tui.train_cli import eval_command, train_command

app = typer.Typer(
    name="trm",
    help="Train and study Tiny Recursive Models (TRM) on Sudoku-Extreme with CGAR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.command("train")(train_command)
app.command("eval")(eval_command)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
