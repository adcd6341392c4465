"""The `trm dashboard` Textual app: four tabs (runs, training, solve, start a run) over one
injected data source.

Data flow (after memray's live view and toolong): a thread worker runs
:meth:`FileSource.follow`, which posts typed messages (:class:`EventsRead`, :class:`RunVanished`,
:class:`RunsScanned`); their handlers only fold events into a :class:`RunHistory` and set a
flag, and a timer redraws at most :data:`REDRAW_HZ` times a second, so a fast run cannot flood
the UI. A second thread worker runs the model for the solve tab.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from trm_tui.dashboard.history import RunHistory
from trm_tui.dashboard.launcher import TrainProcess, launch
from trm_tui.dashboard.runs import is_run_dir, read_config
from trm_tui.dashboard.screens.runs import RunChosen, RunsPane
from trm_tui.dashboard.screens.solve import SolveDone, SolveFailed, SolvePane
from trm_tui.dashboard.screens.start import StartPane, StartRequested, StopRequested
from trm_tui.dashboard.screens.training import TrainingPane
from trm_tui.dashboard.solving import ModelCache, find_checkpoint, trace_puzzle
from trm_tui.dashboard.source import (
    EventsRead,
    FileSource,
    RunsScanned,
    RunVanished,
    SourceFailed,
)

REDRAW_HZ = 4.0
TABS = ("runs", "training", "solve", "start")
NARROW_BELOW = 110  # columns: one chart per row under this width
WIDE_FROM = 170  # columns: three charts per row from this width


class Dashboard(App[None]):
    """Runs, live training, solve view and run launcher for one runs folder (or one run)."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "trm dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "keys", "Keys"),
        Binding("1", "tab('runs')", "Runs"),
        Binding("2", "tab('training')", "Training"),
        Binding("3", "tab('solve')", "Solve"),
        Binding("4", "tab('start')", "Start"),
        Binding("t", "toggle_theme", "Light/dark"),
    ]

    def __init__(self, source: FileSource, open_run: Path | None = None) -> None:
        super().__init__()
        self.source = source
        self.initial_run = open_run
        self.histories: dict[Path, RunHistory] = {}
        self.tokens: dict[Path, int] = {}
        self.followed: tuple[tuple[Path, int], ...] = ()
        self.primary: Path | None = None
        self.compare: Path | None = None
        self.states: dict[Path, str] = {}
        self.launched: list[TrainProcess] = []
        self.models = ModelCache()
        self.is_dirty = False
        self.n_redraws = 0

    def compose(self) -> ComposeResult:
        """The four tabs and the key footer."""
        with TabbedContent(initial="runs"):
            with TabPane("1 Runs", id="runs"):
                yield RunsPane(self.source.root)
            with TabPane("2 Training", id="training"):
                yield TrainingPane()
            with TabPane("3 Solve", id="solve"):
                yield SolvePane()
            with TabPane("4 Start run", id="start"):
                yield StartPane()
        yield Footer()

    def on_mount(self) -> None:
        """Start the source's thread and the redraw clock; open the run given on the command
        line."""
        self.set_interval(1.0 / REDRAW_HZ, self.redraw)
        if self.initial_run is not None:
            self.open_run(self.initial_run, None)
        else:
            self.query_one(DataTable).focus()
        # After the first refresh every tab's widgets exist to receive the source's messages.
        self.call_after_refresh(
            self.run_worker, self._follow, thread=True, group="source", exit_on_error=False
        )

    def _follow(self) -> None:
        worker = get_current_worker()
        self.source.follow(
            lambda: self.followed,
            lambda: [(p.run_dir, p.is_running) for p in self.launched],
            self.post_message,
            lambda: worker.is_cancelled,
        )

    # ------------------------------------------------------------------ opening runs

    def open_run(self, run: Path, compare: Path | None) -> None:
        """Show ``run`` (replayed from its first event) with ``compare`` overlaid on the charts."""
        for path in (run, compare):
            if path is not None:
                self.tokens[path] = self.tokens.get(path, 0) + 1
                self.histories[path] = RunHistory(read_config(path))
        self.primary, self.compare = run, compare
        self.followed = tuple((p, self.tokens[p]) for p in (run, compare) if p is not None)
        self.is_dirty = True
        self.action_tab("training")

    def on_run_chosen(self, message: RunChosen) -> None:
        """The runs table opened a run."""
        self.open_run(message.run, message.compare)

    # ------------------------------------------------------------------ source messages

    def on_events_read(self, message: EventsRead) -> None:
        """Fold new events in (a stale read of an earlier opening is dropped)."""
        if self.tokens.get(message.run) != message.token:
            return
        history = self.histories[message.run]
        for event in message.events:
            history.add(event)
        self._tell_bad_lines(message.errors)
        self.is_dirty = True

    def _tell_bad_lines(self, errors: list[str]) -> None:
        """One notice for a batch of bad lines (or unreadable files): the first named, the
        others counted; each description names its file and line and says what is wrong."""
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            self.notify(f"events skipped: {errors[0]}{more}", severity="warning")

    def on_source_failed(self, message: SourceFailed) -> None:
        """A read of the source raised: say so; the source goes on with the next read."""
        self.notify(message.reason, severity="error")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The source's thread ended by an error: say so, it does not end silently."""
        worker = event.worker
        if worker.group == "source" and event.state == WorkerState.ERROR:
            error = worker.error
            self.notify(
                f"the dashboard stopped reading events ({type(error).__name__}: {error}); "
                "restart it to follow the runs again",
                severity="error",
                timeout=3600,
            )

    def on_run_vanished(self, message: RunVanished) -> None:
        """A followed run's files disappeared: say so, keep showing what was read."""
        self.notify(
            f"{message.run}: {message.what} is gone; showing what was read", severity="warning"
        )

    def on_runs_scanned(self, message: RunsScanned) -> None:
        """Refresh the runs table and the open runs' states."""
        followed = {run for run, _ in self.followed}
        # The open runs' own tails tell about their bad lines.
        self._tell_bad_lines([text for run, text in message.errors if run not in followed])
        for failure in message.failures:
            self.notify(failure, severity="error")
        states = {run.path: run.state for run in message.runs}
        if states != self.states:
            self.is_dirty = True
        self.states = states
        for pane in self.query(RunsPane):
            pane.update_runs(message.runs)

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> None:
        """Paced redraw: repaint the training and start tabs if anything changed.

        The clock can still tick while the app shuts down, after the panes' children are gone
        (seen in CI as ``NoMatches``), so a redraw then does nothing."""
        if not self.is_running:
            return
        if self.launched:
            self._show_process(self.launched[-1])
        pane = self.query_one(TrainingPane)
        if not self.is_dirty or self.primary is None or not pane.ready:
            return
        self.is_dirty = False
        self.n_redraws += 1
        compare = None
        if self.compare is not None:
            compare = (self.compare.name, self.histories[self.compare])
        history = self.histories[self.primary]
        state = self.states.get(self.primary, "waiting")
        pane.show(self.primary.name, history, state, compare)

    def on_resize(self, event: events.Resize) -> None:
        """One, two or three charts per row depending on the terminal's width."""
        self.screen.set_class(event.size.width < NARROW_BELOW, "narrow")
        self.screen.set_class(event.size.width >= WIDE_FROM, "wide")

    # ------------------------------------------------------------------ keys

    def action_tab(self, tab: str) -> None:
        """Switch to one of the four tabs and focus its main widget."""
        self.query_one(TabbedContent).active = tab
        focus = {"runs": DataTable, "solve": SolvePane}.get(tab)
        if focus is not None:
            self.query_one(focus).focus()

    def action_keys(self) -> None:
        """Show or hide the key bindings panel."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_toggle_theme(self) -> None:
        """Switch between the light and the dark theme."""
        self.theme = "textual-light" if self.theme != "textual-light" else "textual-dark"

    # ------------------------------------------------------------------ solve tab

    def solve_puzzle(self, puzzle: np.ndarray) -> None:
        """Trace ``puzzle`` with the open run's model (or the newest run's) in a thread."""
        self.run_worker(
            lambda: self._solve(puzzle),
            thread=True,
            group="solve",
            exclusive=True,
            exit_on_error=False,
        )

    def _solve(self, puzzle: np.ndarray) -> None:
        target = find_checkpoint(self.primary, self.source.root)
        if target is None:
            self.post_message(
                SolveFailed(f"no checkpoint under {self.source.root}: train a run first")
            )
            return
        try:
            trace = trace_puzzle(self.models, target, puzzle)
        # Any failure of a user's checkpoint is reported as a notice; the dashboard keeps running.
        except Exception as e:
            reason = str(e)
            self.post_message(SolveFailed(reason if str(target) in reason else f"{target}: {e}"))
            return
        self.post_message(SolveDone(trace))

    def on_solve_done(self, message: SolveDone) -> None:
        """Show the traced steps."""
        self.query_one(SolvePane).show_trace(message.trace)

    def on_solve_failed(self, message: SolveFailed) -> None:
        """Say why the puzzle could not be solved, in a notice and on the status line."""
        self.notify(message.reason, severity="error")
        self.query_one(SolvePane).show_failure(message.reason)

    # ------------------------------------------------------------------ start tab

    def on_start_requested(self, message: StartRequested) -> None:
        """Launch `trm train` and follow its run."""
        if self.launched and self.launched[-1].is_running:
            self.notify("a run started here is still going: stop it first", severity="warning")
            return
        root = self.source.root.parent if is_run_dir(self.source.root) else self.source.root
        process = launch(root, message.preset, message.cgar, message.data, message.sets)
        self.launched.append(process)
        self.notify(f"started {process.run_dir.name} (log: {process.log})")
        self._show_process(process)
        self.open_run(process.run_dir, None)

    def on_stop_requested(self, message: StopRequested) -> None:
        """SIGINT the launched run: it checkpoints and ends as interrupted."""
        if self.launched and self.launched[-1].is_running:
            self.launched[-1].stop()
            self.notify(f"sent SIGINT to {self.launched[-1].run_dir.name}; it saves and stops")

    def _show_process(self, process: TrainProcess) -> None:
        try:
            tail = process.log.read_bytes()[-600:].decode("utf-8", errors="replace")
        except OSError:
            tail = ""
        code = process.process.poll()
        status = f"{process.run_dir.name}: " + ("running" if code is None else f"exited ({code})")
        self.query_one(StartPane).show_process(status, tail, code is None)
