"""`trm data ...` (placeholder until the data commands land)."""

import typer

app = typer.Typer(help="Make, convert, solve and rate, and describe puzzle sets.", no_args_is_help=True)
