"""The start-a-run view: preset, CGAR on/off and data for a new `trm train` process, a stop
button, and the tail of the process's log."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static, Switch

PRESETS = ("tiny", "cpu", "paper")


class StartRequested(Message):
    """The user asked for a new run."""

    def __init__(self, preset: str, cgar: bool, data: str, sets: list[str]) -> None:
        super().__init__()
        self.preset = preset
        self.cgar = cgar
        self.data = data
        self.sets = sets  # `--set section.field=value` overrides


class StopRequested(Message):
    """The user asked to stop the run this dashboard started."""


class StartPane(Vertical):
    """Form to start a run and stop it again."""

    def compose(self) -> ComposeResult:
        """Preset, CGAR switch, data path, overrides, buttons, log tail."""
        with Horizontal(classes="form-row"):
            yield Label("preset", classes="form-label")
            yield Select([(p, p) for p in PRESETS], value="tiny", allow_blank=False, id="preset")
        with Horizontal(classes="form-row"):
            yield Label("CGAR", classes="form-label")
            yield Switch(value=True, id="cgar")
        with Horizontal(classes="form-row"):
            yield Label("data", classes="form-label")
            yield Input(placeholder="default: generated puzzles (or a CSV path)", id="data")
        with Horizontal(classes="form-row"):
            yield Label("--set", classes="form-label")
            yield Input(placeholder="e.g. train.epochs=5 train.batch_size=32", id="sets")
        with Horizontal(classes="form-row"):
            yield Button("Start", variant="success", id="start-run")
            yield Button("Stop (SIGINT)", variant="error", id="stop-run", disabled=True)
        yield Static("no run started from here yet", id="launch-status")
        yield Static("", id="launch-log")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Turn a button press into a typed request for the app."""
        event.stop()
        if event.button.id == "start-run":
            preset = self.query_one("#preset", Select).value
            cgar = self.query_one("#cgar", Switch).value
            data = self.query_one("#data", Input).value.strip()
            sets = self.query_one("#sets", Input).value.split()
            self.post_message(StartRequested(str(preset), bool(cgar), data, sets))
        elif event.button.id == "stop-run":
            self.post_message(StopRequested())

    def show_process(self, status: str, log_tail: str, is_running: bool) -> None:
        """Show the launched process's status and last log lines; enable the right button."""
        self.query_one("#launch-status", Static).update(status)
        self.query_one("#launch-log", Static).update(log_tail)
        self.query_one("#start-run", Button).disabled = is_running
        self.query_one("#stop-run", Button).disabled = not is_running
