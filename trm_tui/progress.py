"""The live terminal display of ``trm train``: a rich panel fed by the run's event stream.

It reads only events (DESIGN.md, "Run directory"), so it shows exactly what a dashboard or a
script reading ``events.jsonl`` would see: stage and depth, losses, accuracies of the rows that
halted, samples per second, ETA, a progress bar and the last evaluation. Stage changes,
evaluations and the end of the run are also printed as lines, so they stay in the scrollback.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table


def _fmt(value: Any, spec: str = ".4f") -> str:
    """A number for the table, or a dash when the event had none (e.g. no row halted)."""
    return "-" if value is None else format(value, spec)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class TrainDisplay:
    """Shows training progress from events; call :meth:`handle` with each event."""

    def __init__(self, console: Console | None = None, run_dir: str = "") -> None:
        self.console = console or Console()
        self.run_dir = run_dir
        self.start: dict[str, Any] = {}
        self.train: dict[str, Any] = {}
        self.eval: dict[str, Any] = {}
        self.n_stages = 1
        self.bar = Progress(
            TextColumn("step {task.completed}/{task.total}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
        )
        self.task = self.bar.add_task("train", total=None, eta="-")
        self.live = Live(self.render(), console=self.console, refresh_per_second=4, transient=False)

    def __enter__(self) -> TrainDisplay:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self.render())
        self.live.stop()

    def handle(self, event: dict[str, Any]) -> None:
        """Take one event into the display."""
        kind = event.get("kind")
        if kind == "run_start":
            self.start = event
            stages = event.get("config", {}).get("curriculum", {})
            self.n_stages = len(stages.get("stages", [])) if stages.get("depth") else 1
            self.bar.update(self.task, total=event.get("total_steps"), completed=event["step"])
            compiled = event.get("compile")
            if isinstance(compiled, dict) and compiled.get("on"):
                self.console.print(
                    f"compiling the network ({compiled.get('why')}): the first step is slow"
                )
        elif kind == "compile":
            self.console.print(
                f"first step, compiling included: {_fmt(event.get('seconds'), '.1f')} s "
                f"(kernels cached in {event.get('cache')})"
            )
        elif kind == "train":
            self.train = event
            self.bar.update(self.task, completed=event["step"], eta=_duration(event.get("eta_s")))
        elif kind == "stage":
            depth = event["depth"]
            self.console.print(
                f"stage {event['stage']}/{self.n_stages}: depth n={depth['n']}, T={depth['T']} "
                f"from step {event['step']} (rho {event['rho']:.2f})"
            )
        elif kind == "eval":
            self.eval = event
            self.console.print(
                f"eval at step {event['step']}: exact {_fmt(event['exact_accuracy'])}, "
                f"cells {_fmt(event['cell_accuracy'])}, halting {_fmt(event['halt_accuracy'])}, "
                f"avg halt step {_fmt(event['avg_halt_step'], '.2f')} "
                f"({event['n_puzzles']} puzzles)"
            )
        elif kind == "run_end":
            self.console.print(f"run {event['reason']}: {event['message']}")
        self.live.update(self.render())

    def render(self) -> RenderableType:
        """The current panel: header, progress bar, metrics table."""
        header = f"[bold]trm train[/] {self.run_dir}"
        if self.start:
            header += (
                f"  on {self.start.get('device', '?')}, {self.start.get('n_params', 0):,} params"
            )
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="dim")
        table.add_column()
        table.add_column(style="dim")
        table.add_column()
        t = self.train
        depth = t.get("depth") or {}
        table.add_row(
            "stage",
            f"{t.get('stage', '-')}/{self.n_stages}  "
            f"(n={depth.get('n', '-')}, T={depth.get('T', '-')})",
            "samples/s",
            _fmt(t.get("samples_per_s"), ".1f"),
        )
        table.add_row("loss", _fmt(t.get("loss")), "lr", _fmt(t.get("lr"), ".2e"))
        table.add_row("lm loss", _fmt(t.get("lm_loss")), "halt loss", _fmt(t.get("halt_loss")))
        table.add_row(
            "cell acc", _fmt(t.get("cell_accuracy")), "exact acc", _fmt(t.get("exact_accuracy"))
        )
        table.add_row(
            "halt acc", _fmt(t.get("halt_accuracy")), "avg steps", _fmt(t.get("avg_steps"), ".2f")
        )
        e = self.eval
        last_eval = (
            f"step {e['step']}: exact {_fmt(e['exact_accuracy'])}, cells {_fmt(e['cell_accuracy'])}"
            if e
            else "-"
        )
        table.add_row("last eval", last_eval, "", "")
        return Group(header, self.bar, table)
