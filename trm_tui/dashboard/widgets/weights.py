"""Bar charts of the supervision weights ``w_1..w_N_sup`` (CGAR's HSW: ``lambda^(t-1) / Z``,
flat when HSW is off) and of how many batch rows sit at each supervision step."""

from __future__ import annotations

from rich.text import Text

from trm_tui.dashboard.history import RunHistory
from trm_tui.dashboard.widgets.base import HistoryView

BLOCKS = " ▁▂▃▄▅▆▇█"


def render_bars(values: list[float], rows: int, cell: int, style: str) -> Text:
    """Vertical bars ``rows`` high, ``cell`` characters per value, scaled to the largest value."""
    top = max(values) if values and max(values) > 0 else 1.0
    eighths = [round(v / top * rows * 8) for v in values]
    out = Text()
    for r in range(rows):
        floor = (rows - 1 - r) * 8  # eighths below this text row
        if r:
            out.append("\n")
        for e in eighths:
            fill = min(8, max(0, e - floor))
            # A one-character cell has no room for the gap between bars.
            bar = BLOCKS[fill] * max(1, cell - 1)
            out.append(bar.ljust(cell), style=style)
    return out


def render_weights(history: RunHistory, width: int) -> Text:
    """Weights bars, their step axis, and the rows-per-step bars when events carry them."""
    weights = history.supervision_weights()
    n = len(weights)
    cell = max(1, min(3, width // max(n, 1)))
    curriculum = history.section("curriculum")
    lam = curriculum.get("hsw_lambda", 0.7)
    title = f"weights w_t · HSW λ={lam}" if curriculum.get("hsw") else "weights w_t · HSW off"
    out = Text(title[:width], style="bold")
    out.append("\n").append_text(render_bars(weights, 3, cell, "green"))
    axis = "".join(
        str(t).ljust(cell) if t in (1, n) or (cell >= 3 and t % 4 == 0) else " " * cell
        for t in range(1, n + 1)
    )
    out.append("\n" + axis[:width], style="dim")
    out.append(f"\nw_1={weights[0]:.3f}  w_{n}={weights[-1]:.4f}"[: width + 1], style="dim")
    counts = history.rows_per_step()
    if counts:
        out.append("\n" + "rows of the batch at step t"[:width], style="bold")
        out.append("\n").append_text(render_bars([float(c) for c in counts], 2, cell, "cyan"))
    return out


class WeightsBars(HistoryView):
    """The supervision weights (and rows per step) of the open run."""

    DEFAULT_CSS = "WeightsBars { height: auto; }"

    def draw(self, history: RunHistory, width: int) -> Text:
        """See :func:`render_weights`."""
        return render_weights(history, width)
