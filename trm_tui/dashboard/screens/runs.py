"""The runs view: every run under the folder with its state and progress; open one, or mark
one to compare against (space), e.g. a CGAR run against its baseline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from trm_tui.dashboard.runs import RunSummary
from trm_tui.dashboard.widgets.figures import STATE_STYLES, duration

COLUMNS = ("cmp", "name", "preset", "kind", "state", "step", "best exact", "age")


class RunChosen(Message):
    """The user opened ``run`` (with ``compare`` overlaid on the charts, if any)."""

    def __init__(self, run: Path, compare: Path | None) -> None:
        super().__init__()
        self.run = run
        self.compare = compare


def summary_cells(run: RunSummary, marked: bool, now: float) -> tuple[str | Text, ...]:
    """The cells of one row of the runs table."""
    step = f"{run.step}/{run.total_steps}" if run.total_steps else str(run.step)
    best = "-" if run.best_exact is None else f"{run.best_exact:.3f}"
    state = Text(run.state, style=STATE_STYLES.get(run.state, ""))
    age = duration(now - run.last_change)
    return ("◆" if marked else "", run.name, run.preset, run.kind, state, step, best, age)


class RunsPane(Vertical):
    """A table of the runs; enter opens, space marks a run for comparison."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark to compare"),
        Binding("o", "open", "Open"),
    ]

    def __init__(self, root: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.root = root
        self.runs: list[RunSummary] = []
        self.marked: Path | None = None

    def compose(self) -> ComposeResult:
        """A hint line over the table."""
        yield Static(f"runs under {self.root}: enter open · space mark to compare", id="runs-hint")
        table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="runs-table")
        table.add_columns(*COLUMNS)
        yield table

    def on_mount(self) -> None:
        """Show runs that were scanned before the table existed."""
        if self.runs:
            self.update_runs(self.runs)

    def update_runs(self, runs: list[RunSummary]) -> None:
        """Show ``runs``, keeping the cursor on the same run."""
        tables = self.query(DataTable)
        if not tables:  # a scan can arrive before compose or during shutdown: shown on mount
            self.runs = runs
            return
        table = tables.first()
        current = self._cursor_path()
        self.runs = runs
        table.clear()
        now = time.time()
        for run in runs:
            table.add_row(*summary_cells(run, run.path == self.marked, now), key=str(run.path))
        if current is not None:
            for index, run in enumerate(runs):
                if run.path == current:
                    table.move_cursor(row=index)
        if not runs:
            self.query_one("#runs-hint", Static).update(
                f"no runs under {self.root} yet: start one on tab 4, or `trm train`"
            )

    def _cursor_path(self) -> Path | None:
        table = self.query_one(DataTable)
        if not self.runs or not 0 <= table.cursor_row < len(self.runs):
            return None
        return self.runs[table.cursor_row].path

    def action_mark(self) -> None:
        """Mark (or unmark) the run under the cursor as the one to compare with."""
        path = self._cursor_path()
        if path is None:
            return
        self.marked = None if self.marked == path else path
        self.update_runs(self.runs)

    def action_open(self) -> None:
        """Open the run under the cursor (with the marked run overlaid)."""
        path = self._cursor_path()
        if path is not None:
            compare = self.marked if self.marked != path else None
            self.post_message(RunChosen(path, compare))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row opens it."""
        event.stop()
        self.action_open()
