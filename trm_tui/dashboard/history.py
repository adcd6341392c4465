"""What the dashboard knows about one run: its events (DESIGN.md table) folded into series.

Pure Python, no Textual and no torch, so it is tested directly. Events are folded in as they
arrive; unknown kinds and fields are ignored and a field of the wrong type counts as missing.
The CGAR numbers shown without events follow Qasim & Zhang (2025): depth stages switch at
``rho = step / total_steps`` thresholds and HSW weights are ``w_t = lambda^(t-1) / Z``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

TRAIN_SERIES = ("loss", "cell_accuracy", "exact_accuracy", "halt_accuracy", "avg_steps", "lr")
EVAL_SERIES = ("exact_accuracy", "cell_accuracy", "halt_accuracy", "avg_halt_step")
MAX_N_SUP = 1024  # more supervision steps than any run uses: a config saying so is not believed


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is missing, null, non-finite or not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        as_float = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return as_float if math.isfinite(as_float) else None


@dataclass
class Series:
    """Points ``(step, value)`` of one metric; missing values are not stored."""

    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, step: float, value: Any) -> None:
        """Append a point if ``value`` is a number."""
        v = number(value)
        if v is not None:
            self.steps.append(step)
            self.values.append(v)

    @property
    def last(self) -> float | None:
        """The latest value, or None."""
        return self.values[-1] if self.values else None


@dataclass(frozen=True)
class StageMark:
    """A depth-stage change: from ``step`` on the run uses ``(n, T)``."""

    step: int
    stage: int
    n: int
    T: int


@dataclass(frozen=True)
class PlannedStage:
    """One stage of the configured curriculum, with the step range it covers."""

    stage: int
    n: int
    T: int
    start: int
    end: int  # exclusive


class RunHistory:
    """Everything the training view shows about one run, built from its events."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = config if isinstance(config, dict) else {}
        self.run_start: dict[str, Any] = {}
        self.train = {name: Series() for name in TRAIN_SERIES}
        self.train["samples_per_s"] = Series()
        self.eval = {name: Series() for name in EVAL_SERIES}
        self.stages: list[StageMark] = []
        self.last_train: dict[str, Any] = {}
        self.last_eval: dict[str, Any] = {}
        self.last_checkpoint: dict[str, Any] = {}
        self.run_end: dict[str, Any] = {}
        self.step = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.n_events = 0

    def add(self, event: dict[str, Any]) -> None:
        """Fold one event in; unknown kinds only move the step and the clock."""
        self.n_events += 1
        step = event.get("step")
        if isinstance(step, int) and not isinstance(step, bool):
            self.step = max(self.step, step)
        else:
            step = self.step
        when = number(event.get("time"))
        if when is not None:
            self.first_time = when if self.first_time is None else min(self.first_time, when)
            self.last_time = when if self.last_time is None else max(self.last_time, when)
        kind = event.get("kind")
        if kind == "run_start":
            self.run_start = event
            if isinstance(event.get("config"), dict):
                self.config = event["config"]
        elif kind == "train":
            self.last_train = event
            for name, series in self.train.items():
                series.add(step, event.get(name))
        elif kind == "eval":
            self.last_eval = event
            for name, series in self.eval.items():
                series.add(step, event.get(name))
        elif kind == "stage":
            mark = _stage_mark(step, event)
            if mark is not None:
                self.stages.append(mark)
        elif kind == "checkpoint":
            self.last_checkpoint = event
        elif kind == "run_end":
            self.run_end = event

    # ------------------------------------------------------------------ derived figures

    def section(self, name: str) -> dict[str, Any]:
        """One configuration section (``model``, ``curriculum``, ``train``...), {} if absent."""
        value = self.config.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def total_steps(self) -> int | None:
        """Planned optimizer steps (from ``run_start``)."""
        total = self.run_start.get("total_steps")
        # Steps are exact in a float up to 2^53 (the stage starts are worked out in floats).
        is_count = isinstance(total, int) and not isinstance(total, bool) and 0 < total <= 2**53
        return total if is_count else None

    @property
    def n_sup(self) -> int:
        """Supervision steps per puzzle (N_sup)."""
        value = depth_of(self.section("model").get("n_sup"), 16)
        return value if 1 <= value <= MAX_N_SUP else 16

    @property
    def best_exact(self) -> float | None:
        """Best evaluation exact accuracy so far."""
        values = self.eval["exact_accuracy"].values
        return max(values) if values else None

    @property
    def current_stage(self) -> StageMark | None:
        """The latest depth stage (from ``stage`` events, else from the last ``train`` event)."""
        if self.stages:
            return self.stages[-1]
        return _stage_mark(self.step, self.last_train)

    def planned_stages(self) -> list[PlannedStage]:
        """The curriculum's stages with their step ranges (one full-depth stage when PDC is off)."""
        total = self.total_steps or 0
        curriculum = self.section("curriculum")
        model = self.section("model")
        raw = curriculum.get("stages") if curriculum.get("depth") else None
        if not isinstance(raw, list) or not raw:
            n, t = depth_of(model.get("n_latent"), 6), depth_of(model.get("n_cycles"), 3)
            return [PlannedStage(1, n, t, 0, total)]
        starts = [0] + [_first_step_at(_rho(s), total) for s in raw[:-1]]
        ends = [*starts[1:], total]
        return [
            PlannedStage(
                i + 1, depth_of(s.get("n"), 0), depth_of(s.get("T"), 0), starts[i], ends[i]
            )
            for i, s in enumerate(raw)
            if isinstance(s, dict)
        ]

    def supervision_weights(self) -> list[float]:
        """``w_1..w_N_sup``: from the last ``train`` event, else from the configuration."""
        weights = self.last_train.get("hsw_weights")
        if isinstance(weights, list) and weights and all(number(w) is not None for w in weights):
            return [float(w) for w in weights]
        curriculum = self.section("curriculum")
        lam = number(curriculum.get("hsw_lambda"))
        if not curriculum.get("hsw") or lam is None or not 0 < lam <= 1:
            return [1.0 / self.n_sup] * self.n_sup  # HSW off: every step weighs the same
        powers = [lam ** (t - 1) for t in range(1, self.n_sup + 1)]
        return [p / sum(powers) for p in powers]

    def rows_per_step(self) -> list[int] | None:
        """Rows of the batch at each supervision step (``steps_histogram``), if events carry it."""
        counts = self.last_train.get("steps_histogram")
        if isinstance(counts, list) and counts and all(_is_row_count(c) for c in counts):
            return counts
        return None

    @property
    def elapsed_s(self) -> float | None:
        """Seconds from the first to the latest event."""
        if self.first_time is None or self.last_time is None:
            return None
        return self.last_time - self.first_time


def depth_of(value: Any, default: int) -> int:
    """A configured count (``n``, ``T``, ``n_layers``), or ``default`` when it is none."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
        return value
    return default


def effective_depth(n: int, T: int, n_layers: int) -> int:
    """Network layers one supervision step applies: ``T * (n + 1) * n_layers`` (TRM, sec. 4)."""
    return T * (n + 1) * n_layers


def _is_row_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _rho(stage: Any) -> float:
    value = number(stage.get("until_rho")) if isinstance(stage, dict) else None
    return value if value is not None else 1.0


def _first_step_at(rho: float, total: int) -> int:
    """The first step ``s`` with ``s / total >= rho``, as the trainer's depth schedule decides."""
    if total <= 0:
        return 0
    rho = min(1.0, max(0.0, rho))  # past the ends of training a threshold means the same as at them
    start = math.ceil(rho * total)
    while start > 0 and (start - 1) / total >= rho:
        start -= 1
    while start / total < rho:
        start += 1
    return start


def _stage_mark(step: int, event: dict[str, Any]) -> StageMark | None:
    depth, stage = event.get("depth"), event.get("stage")
    if not isinstance(depth, dict) or not isinstance(stage, int):
        return None
    n, t = depth.get("n"), depth.get("T")
    if not isinstance(n, int) or not isinstance(t, int):
        return None
    return StageMark(step=step, stage=stage, n=n, T=t)
