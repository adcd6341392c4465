"""The depth curriculum as a timeline: CGAR's stages (Qasim & Zhang 2025, PDC) over the run's
steps, the current position, the current ``(n, T)`` and effective depth, and the next stage."""

from __future__ import annotations

from rich.text import Text

from trm_tui.dashboard.history import PlannedStage, RunHistory, depth_of, effective_depth
from trm_tui.dashboard.widgets.base import HistoryView

STAGE_STYLES = ("blue", "magenta", "green", "cyan", "yellow")


def _widths(stages: list[PlannedStage], total: int, width: int) -> list[int]:
    """Characters per stage, proportional to its steps, at least 1, summing to ``width``."""
    spans = [max(1, round((s.end - s.start) / max(total, 1) * width)) for s in stages]
    spans[-1] = max(1, width - sum(spans[:-1]))
    return spans


def describe_now(history: RunHistory) -> Text:
    """``stage 2/3 · n=4 T=2 · effective depth 20 · next: stage 3 (n=6 T=3) at step 375``."""
    stages = history.planned_stages()
    mark = history.current_stage
    n_layers = depth_of(history.section("model").get("n_layers"), 2)
    out = Text()
    if mark is None:
        return out.append("depth: waiting for the first stage or train event", style="dim")
    out.append(f"stage {mark.stage}/{len(stages)}", style="bold")
    out.append(f" · n={mark.n} T={mark.T} · effective depth ")
    out.append(str(effective_depth(mark.n, mark.T, n_layers)), style="bold")
    later = [s for s in stages if s.stage > mark.stage]
    if later:
        nxt = later[0]
        out.append(f" · next: stage {nxt.stage} (n={nxt.n} T={nxt.T}) at step {nxt.start}")
        out.append(f" (in {max(0, nxt.start - history.step)})", style="dim")
    elif not history.section("curriculum").get("depth"):
        out.append(" · depth curriculum off", style="dim")
    return out


def render_timeline(history: RunHistory, width: int) -> Text:
    """Three lines: the summary, the stage bar (done part bold), stage labels with a ▲ cursor."""
    stages = history.planned_stages()
    total = history.total_steps or 0
    out = describe_now(history)
    out.truncate(width)
    if not total or not stages:
        return out
    spans = _widths(stages, total, width)
    bar, labels = Text(), Text()
    position = min(width - 1, round(history.step / total * width))
    column = 0
    for stage, span in zip(stages, spans, strict=True):
        style = STAGE_STYLES[(stage.stage - 1) % len(STAGE_STYLES)]
        for i in range(span):
            bar.append("█" if column + i < position else "░", style=style)
        label = f"{stage.stage}:({stage.n},{stage.T})"
        labels.append(label[: max(0, span - 1)].ljust(span), style=style)
        column += span
    label = f"{history.step}/{total}"
    if position + 2 + len(label) <= width:
        cursor = Text(" " * position + "▲ " + label)
    else:  # near the end: the label goes left of the cursor
        cursor = Text((label + " ").rjust(position) + "▲")
    cursor.truncate(width)
    out.append("\n").append_text(bar).append("\n").append_text(labels)
    return out.append("\n").append_text(cursor)


class StageTimeline(HistoryView):
    """The curriculum timeline of the open run."""

    DEFAULT_CSS = "StageTimeline { height: 4; }"

    def draw(self, history: RunHistory, width: int) -> Text:
        """See :func:`render_timeline`."""
        return render_timeline(history, width)
