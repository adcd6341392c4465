"""The training view: stage timeline, figures, supervision weights and metric charts of one run,
optionally overlaid with a second run (e.g. CGAR against a baseline)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from trm_tui.dashboard.history import RunHistory, Series
from trm_tui.dashboard.runs import run_kind
from trm_tui.dashboard.widgets.chart import ChartLine, LineChart
from trm_tui.dashboard.widgets.figures import RunFigures
from trm_tui.dashboard.widgets.timeline import StageTimeline
from trm_tui.dashboard.widgets.weights import WeightsBars


@dataclass(frozen=True)
class ChartSpec:
    """One chart: a train metric and/or an eval metric on a shared axis."""

    title: str
    train: str | None
    eval: str | None
    y_range: tuple[float, float] | None = None


CHARTS = (
    ChartSpec("loss", "loss", None),
    ChartSpec("cell accuracy", "cell_accuracy", "cell_accuracy", (0.0, 1.0)),
    ChartSpec("exact accuracy", "exact_accuracy", "exact_accuracy", (0.0, 1.0)),
    ChartSpec("halting accuracy", "halt_accuracy", "halt_accuracy", (0.0, 1.0)),
    ChartSpec("avg halting step", "avg_steps", "avg_halt_step"),
    ChartSpec("samples/s", "samples_per_s", None),
)
# (train, eval) styles of the open run, then of the compared run.
STYLES = (("cyan", "magenta"), ("yellow", "red"))


def chart_lines(spec: ChartSpec, runs: list[tuple[str, RunHistory]]) -> list[ChartLine]:
    """The lines of one chart for the open run and the compared one (``runs`` = (tag, history))."""
    lines = []
    for (tag, history), (train_style, eval_style) in zip(runs, STYLES, strict=False):
        pairs: list[tuple[str, Series | None, str]] = [
            ("train", history.train.get(spec.train) if spec.train else None, train_style),
            ("eval", history.eval.get(spec.eval) if spec.eval else None, eval_style),
        ]
        for label, series, style in pairs:
            if series is not None:
                lines.append(ChartLine(f"{tag}{label}", series.steps, series.values, style))
    return lines


class TrainingPane(Vertical):
    """Everything about the open run (and the compared run on the charts)."""

    ready = False
    """Whether the children exist: the redraw clock can tick between this pane's mounting and
    its children's, and a redraw then waits for the next tick."""

    def compose(self) -> ComposeResult:
        """Title, timeline, then the side panel next to the charts."""
        yield Static("no run open: pick one on the Runs tab (1)", id="run-title")
        yield StageTimeline(id="timeline")
        with Horizontal(id="training-body"):
            with VerticalScroll(id="side"):
                yield RunFigures(id="figures")
                yield WeightsBars(id="weights")
            with VerticalScroll(id="charts"), Grid(id="chart-grid"):
                for spec in CHARTS:
                    yield LineChart(spec.title, spec.y_range, classes="chart")

    def on_mount(self) -> None:
        """Children are mounted before their parent's Mount event."""
        self.ready = True

    def show(
        self, name: str, history: RunHistory, state: str, compare: tuple[str, RunHistory] | None
    ) -> None:
        """Redraw every part from ``history`` (and ``compare``, a (name, history) pair)."""
        preset = history.config.get("preset", "?")
        title = f"[b]{escape(name)}[/b] · {escape(str(preset))} · {run_kind(history.config)}"
        if compare is not None:
            title += f"  [yellow]vs {escape(compare[0])}[/yellow]"
        self.query_one("#run-title", Static).update(title)
        figures = self.query_one(RunFigures)
        figures.state = state
        figures.show(history)
        self.query_one(StageTimeline).show(history)
        self.query_one(WeightsBars).show(history)
        runs = [("", history)] + ([("vs ", compare[1])] if compare else [])
        markers = [float(m.step) for m in history.stages if m.step > 0]
        n_sup = float(history.n_sup)
        for spec, chart in zip(CHARTS, self.query(LineChart), strict=True):
            if spec.title == "avg halting step":
                chart.y_range = (1.0, n_sup)
            chart.set_data(chart_lines(spec, runs), markers, history.total_steps)
