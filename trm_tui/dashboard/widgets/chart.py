"""A line chart drawn with braille dots (2x4 per character), several lines and step markers.

Our own small renderer rather than a chart library: it overlays two runs with stage boundaries
marked, fits in 80x24, and adds no dependency (see the README's dashboard section).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

BRAILLE = 0x2800
# Bit of the dot at (column 0..1, row 0..3) of a braille cell.
DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
GUTTER = 7  # characters left of the plot for the y labels


@dataclass(frozen=True)
class ChartLine:
    """One line of a chart: points ``(xs[i], ys[i])`` drawn in ``style``."""

    label: str
    xs: list[float]
    ys: list[float]
    style: str


def _fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e7:
        return str(int(value))  # steps and counts read best whole
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-2):
        return f"{value:.0e}"
    return f"{value:.3g}"


def _clamp(fraction: float) -> float:
    return min(max(fraction, 0.0), 1.0)


def _segment(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """The dots of a straight segment (Bresenham)."""
    dots = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        dots.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return dots
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def render_chart(
    title: str,
    lines: list[ChartLine],
    width: int,
    height: int,
    markers: list[float] | None = None,
    y_range: tuple[float, float] | None = None,
    x_max: float | None = None,
) -> Text:
    """The chart as ``height`` lines of ``width`` characters: title, plot, x-axis labels."""
    legend = Text(title, style="bold")
    for line in lines:
        legend.append("  ● ", style=line.style).append(line.label)
    legend.truncate(width)
    out = Text(no_wrap=True, overflow="crop")
    out.append_text(legend)
    plot_w, plot_h = width - GUTTER, height - 2
    if plot_w < 4 or plot_h < 2:
        return out
    points = [(x, y) for line in lines for x, y in zip(line.xs, line.ys, strict=False)]
    if not points:
        out.append("\n" + "waiting for data…".center(width), style="dim")
        return out
    x_lo = min(x for x, _ in points)
    x_hi = max(max(x for x, _ in points), x_max or 0.0)
    y_lo, y_hi = y_range or (min(y for _, y in points), max(y for _, y in points))
    if math.isclose(y_lo, y_hi):
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    # Halves: a difference of two finite floats (1e308 and -1e308) can overflow, a half cannot.
    # A flat line near 1e308 stays flat after the widening above: any span but 0 draws it.
    x_span, y_span = max(x_hi / 2 - x_lo / 2, 1e-9), (y_hi / 2 - y_lo / 2) or 1.0
    n_cols, n_rows = plot_w * 2, plot_h * 4
    bits = [[0] * plot_w for _ in range(plot_h)]
    owner: list[list[str | None]] = [[None] * plot_w for _ in range(plot_h)]

    def dot(x: float, y: float) -> tuple[int, int]:
        # Clamped before scaling: a point far outside a fixed y range would overflow.
        col = _clamp((x / 2 - x_lo / 2) / x_span) * (n_cols - 1)
        row = _clamp((y_hi / 2 - y / 2) / y_span) * (n_rows - 1)
        return round(col), round(row)

    for line in lines:
        dots = [dot(x, y) for x, y in zip(line.xs, line.ys, strict=False)]
        path = dots[:1] + [d for a, b in itertools.pairwise(dots) for d in _segment(*a, *b)[1:]]
        for col, row in path:
            bits[row // 4][col // 2] |= DOT_BITS[col % 2][row % 4]
            owner[row // 4][col // 2] = line.style
    marker_cols = {dot(m, y_lo)[0] // 2 for m in markers or () if x_lo <= m <= x_hi}
    labels = {0: _fmt(y_hi), plot_h - 1: _fmt(y_lo), (plot_h - 1) // 2: _fmt(y_hi / 2 + y_lo / 2)}
    for r in range(plot_h):
        out.append("\n" + labels.get(r, "").rjust(GUTTER - 1)[: GUTTER - 1] + "┤", style="dim")
        for c in range(plot_w):
            if bits[r][c]:
                out.append(chr(BRAILLE + bits[r][c]), style=owner[r][c] or "")
            elif c in marker_cols:
                out.append("┊", style="dim yellow")
            else:
                out.append(" ")
    left, right = _fmt(x_lo), _fmt(x_hi)
    if len(left) + len(right) + 1 > plot_w:
        left = ""  # too narrow for both: the end of the run matters more
    axis = " " * GUTTER + left + " " * max(1, plot_w - len(left) - len(right)) + right
    out.append("\n" + axis[:width], style="dim")
    return out


class LineChart(Widget):
    """A chart of a few lines against the optimizer step, redrawn when its data changes."""

    DEFAULT_CSS = "LineChart { height: 1fr; min-height: 6; }"

    def __init__(
        self, title: str, y_range: tuple[float, float] | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.y_range = y_range
        self.lines: list[ChartLine] = []
        self.markers: list[float] = []
        self.x_max: float | None = None

    def set_data(self, lines: list[ChartLine], markers: list[float], x_max: float | None) -> None:
        """Replace what is drawn and ask for a repaint."""
        self.lines, self.markers, self.x_max = lines, markers, x_max
        self.refresh()

    def render(self) -> Text:
        """Draw at the widget's current size."""
        return render_chart(
            self.title,
            self.lines,
            self.size.width,
            self.size.height,
            self.markers,
            self.y_range,
            self.x_max,
        )
