"""The `trm` command: the root Typer app, which loads each sub-command's module only when run.

`trm --help` must start in well under 0.3 s and must not import torch. Importing every command
module up front costs ~100 ms of rich/markdown imports before the help is printed, so the root
group keeps a table of commands (module, attribute, one-line help) and imports a module only
when its command is invoked (or its own ``--help`` is asked for); the root help is printed by
click's plain formatter from that table (``rich_markup_mode=None``). Each command module
imports torch only inside its functions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # typer's own (vendored) click, for annotations only
    from typer._click import Command, Context, HelpFormatter


class Entry(NamedTuple):
    """Where a sub-command lives and what the root help says about it (a NamedTuple: importing
    dataclasses would cost start-up time)."""

    module: str
    attribute: str  # a command function, or a Typer sub-app
    help: str


COMMANDS = {
    "train": Entry("trm_tui.train_cli", "train_command", "Train a TRM; --cgar for CGAR."),
    "eval": Entry("trm_tui.eval_cli", "eval_command", "Exact, cell and halting accuracy."),
    "solve": Entry("trm_tui.solve_cli", "solve_command", "Solve puzzles, step by step."),
    "dashboard": Entry(
        "trm_tui.dashboard_cli", "dashboard_command", "Live training, runs and solve view."
    ),
    "convert": Entry(
        "trm_tui.convert_cli", "convert_command", "A reference or run checkpoint, made compact."
    ),
    "data": Entry("trm_tui.data_cli", "app", "Generate, import, label and describe puzzles."),
    "bench": Entry(
        "trm_tui.bench_cli", "app", "Measure training, CGAR, inference and solver speed."
    ),
}


def load_command(name: str) -> Command:
    """Import the module of command ``name`` and build its click command."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_command(target)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A Typer group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: Context) -> list[str]:
        """Every command name, in table order."""
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command, imported now; None for an unknown name."""
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The commands section of the root help, from the table (no imports)."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])


app = typer.Typer(
    name="trm",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root() -> None:
    """Train and study Tiny Recursive Models (TRM) on Sudoku-Extreme with CGAR."""


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
