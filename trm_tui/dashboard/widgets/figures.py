"""The key figures of a run: state, progress, time, ETA, throughput, learning rate, device,
the latest train and eval metrics, and the last checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from trm_tui.dashboard.history import RunHistory, number
from trm_tui.dashboard.widgets.base import HistoryView

STATE_STYLES = {
    "running": "bold green",
    "finished": "bold blue",
    "interrupted": "bold yellow",
    "failed": "bold red",
    "stale": "bold magenta",
}


def duration(seconds: float | None) -> str:
    """``1h02m``, ``3m20s`` or ``42s``; ``-`` when unknown."""
    if seconds is None or seconds < 0:
        return "-"
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def _f(value: object, spec: str = ".3f") -> str:
    v = number(value)
    return "-" if v is None else format(v, spec)


def render_figures(history: RunHistory, state: str) -> Table:
    """Two columns of figures for the side panel."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True, min_width=10)
    grid.add_column(no_wrap=True, overflow="ellipsis")
    total = history.total_steps
    progress = (
        f"{history.step}/{total} ({history.step / total:.0%})" if total else str(history.step)
    )
    train, evaluation = history.last_train, history.last_eval
    eta = 0.0 if history.run_end else number(train.get("eta_s"))
    grid.add_row("state", f"[{STATE_STYLES.get(state, 'bold')}]{state}[/]")
    grid.add_row("step", progress)
    elapsed = history.elapsed_s
    if state == "running" and history.first_time is not None:
        elapsed = time.time() - history.first_time  # a quiet spell still counts
    grid.add_row("elapsed", f"{duration(elapsed)}  ETA {duration(eta)}")
    grid.add_row("samples/s", _f(train.get("samples_per_s"), ".0f"))
    grid.add_row("lr", _f(train.get("lr"), ".2e"))
    grid.add_row("device", str(history.run_start.get("device", "-")))
    grid.add_row("loss", _f(train.get("loss")))
    grid.add_row("", "[dim]train │ eval[/]")  # values right-aligned to 5, under "train"
    for label, train_key, eval_key, spec in (
        ("cell acc", "cell_accuracy", "cell_accuracy", ".3f"),
        ("exact acc", "exact_accuracy", "exact_accuracy", ".3f"),
        ("halt acc", "halt_accuracy", "halt_accuracy", ".3f"),
        ("avg steps", "avg_steps", "avg_halt_step", ".1f"),
    ):
        grid.add_row(
            label, f"{_f(train.get(train_key), spec):>5} │ {_f(evaluation.get(eval_key), spec)}"
        )
    best = history.best_exact
    grid.add_row("best exact", "-" if best is None else f"{best:.3f}")
    checkpoint = history.last_checkpoint
    if checkpoint:
        name = Path(str(checkpoint.get("path", "?"))).name
        grid.add_row("checkpoint", f"{name}{' (best)' if checkpoint.get('is_best') else ''}")
    if history.run_end.get("reason") == "failed":
        grid.add_row("error", str(history.run_end.get("message", "")))
    return grid


class RunFigures(HistoryView):
    """The figures panel of the open run."""

    DEFAULT_CSS = "RunFigures { height: auto; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.state = "?"

    def draw(self, history: RunHistory, width: int) -> Table:
        """See :func:`render_figures`."""
        return render_figures(history, self.state)
