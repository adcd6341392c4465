"""The `trm` command line (Typer) and the Textual dashboard. Thin: torch is imported lazily."""
