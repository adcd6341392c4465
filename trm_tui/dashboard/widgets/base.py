"""A widget that draws a :class:`RunHistory` at its own size (subclasses say how)."""

from __future__ import annotations

from rich.console import RenderableType
from textual.widget import Widget

from trm_tui.dashboard.history import RunHistory


class HistoryView(Widget):
    """Holds the run being shown; :meth:`show` swaps it in and repaints."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: RunHistory | None = None

    def show(self, history: RunHistory | None) -> None:
        """Draw ``history`` (None: nothing to show yet)."""
        self.history = history
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        """Draw the history, or a hint while there is none."""
        if self.history is None:
            return "no run open: pick one on the Runs tab (1)"
        return self.draw(self.history, max(self.size.width, 10))

    def draw(self, history: RunHistory, width: int) -> RenderableType:
        """The picture of ``history`` at ``width`` characters."""
        raise NotImplementedError
