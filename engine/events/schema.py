"""The event schema (DESIGN.md, "Run directory"): the kinds, their required and numeric fields,
and the checks a writer's test (:func:`validate_event`) and every reader (:func:`type_problems`)
apply.
"""

from __future__ import annotations

import sys
from typing import Any

SCHEMA_VERSION = 1
RESERVED = ("v", "kind", "step", "time")

# Fields that must be numbers (or null: a non-finite value on the way out).
NUMERIC_FIELDS: dict[str, tuple[str, ...]] = {
    "run_start": ("total_steps", "n_params"),
    "train": (
        "loss",
        "lm_loss",
        "halt_loss",
        "lr",
        "cell_accuracy",
        "exact_accuracy",
        "halt_accuracy",
        "avg_steps",
        "samples_per_s",
    ),
    "stage": ("rho",),
    "eval": ("exact_accuracy", "cell_accuracy", "halt_accuracy", "avg_halt_step"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "run_start": ("config", "total_steps", "device", "n_params"),
    "train": (*NUMERIC_FIELDS["train"], "depth", "stage", "hsw_weights"),
    "stage": ("stage", "depth", "rho"),
    "eval": ("split", *NUMERIC_FIELDS["eval"], "n_puzzles"),
    "checkpoint": ("path", "is_best"),
    "run_end": ("reason", "message"),
}
RUN_END_REASONS = ("finished", "interrupted", "failed")

# A float holds every figure of an event; a larger number is none a run could have written.
_FLOAT_MAX = sys.float_info.max
_INT_LIMIT = 2**63


def _is_number(value: Any) -> bool:
    """A real number a float can hold (so NaN, infinities and huge integers are not)."""
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= _FLOAT_MAX
    )


def _is_count(value: Any, least: int) -> bool:
    """An integer from ``least`` up to 64 bits (steps, stages and depths of any real run)."""
    return isinstance(value, int) and not isinstance(value, bool) and least <= value < _INT_LIMIT


def _check_depth(depth: Any) -> list[str]:
    if not isinstance(depth, dict):
        return ["depth: expected an object {n, T}"]
    return [
        f"depth.{key}: expected a positive integer (below 2^63)"
        for key in ("n", "T")
        if not _is_count(depth.get(key), 1)
    ]


def type_problems(event: dict[str, Any]) -> list[str]:
    """Common keys and known fields of ``event`` that have the wrong type (or an impossible size).

    Only what is present is checked: a reader tolerates missing fields, unknown kinds and
    unknown fields, but not a ``step`` that is text or a ``loss`` that is an object.
    """
    problems = _check_common(event)
    kind = event.get("kind")
    if kind in REQUIRED_FIELDS:
        problems += [f"{kind}.{p}" for p in _check_kind(kind, event)]
    return problems


def validate_event(event: dict[str, Any]) -> list[str]:
    """Problems with ``event`` against the DESIGN.md schema (empty when it conforms).

    Unknown kinds and extra fields are allowed; known kinds must carry their required fields.
    Numeric fields may be ``null`` (a non-finite value on the way out).
    """
    problems = []
    if event.get("v") != SCHEMA_VERSION:
        problems.append(f"v: expected {SCHEMA_VERSION}, got {event.get('v')!r}")
    problems += _check_common({key: event.get(key) for key in ("kind", "step", "time")})
    kind = event.get("kind")
    if kind not in REQUIRED_FIELDS:
        return problems
    problems += [f"{kind}.{name}: missing" for name in REQUIRED_FIELDS[kind] if name not in event]
    problems += [f"{kind}.{p}" for p in _check_kind(kind, event)]
    if kind == "run_end" and "reason" in event and event["reason"] not in RUN_END_REASONS:
        problems.append(f"run_end.reason: expected one of {', '.join(RUN_END_REASONS)}")
    return problems


def _check_common(event: dict[str, Any]) -> list[str]:
    """Type checks of the common keys present in ``event``."""
    problems = []
    if "kind" in event and not isinstance(event["kind"], str):
        problems.append("kind: expected a string")
    step = event.get("step")
    if "step" in event and not _is_count(step, -_INT_LIMIT):
        is_int = isinstance(step, int) and not isinstance(step, bool)
        problems.append("step: expected an integer" + (" below 2^63" if is_int else ""))
    if "time" in event and not _is_number(event["time"]):
        problems.append("time: expected unix seconds")
    return problems


def _check_kind(kind: str, event: dict[str, Any]) -> list[str]:
    """Type checks of the fields present in a known kind."""
    problems = []
    for name in NUMERIC_FIELDS.get(kind, ()):
        value = event.get(name)
        if value is not None and not _is_number(value):
            beyond = isinstance(value, (int, float)) and not isinstance(value, bool)
            problems.append(
                f"{name}: " + ("beyond a float's range" if beyond else "expected a number or null")
            )
    if kind in ("train", "stage"):
        if "depth" in event:
            problems += _check_depth(event["depth"])
        if "stage" in event and not _is_count(event["stage"], 1):
            problems.append("stage: expected a 1-based integer")
    if kind == "train" and "hsw_weights" in event:
        weights = event["hsw_weights"]
        if weights is not None and not (
            isinstance(weights, list) and weights and all(_is_number(w) for w in weights)
        ):
            problems.append("hsw_weights: expected a list of numbers or null")
    if kind == "run_start" and "config" in event and not isinstance(event["config"], dict):
        problems.append("config: expected an object")
    if kind == "eval" and "n_puzzles" in event and not _is_count(event["n_puzzles"], 0):
        problems.append("n_puzzles: expected an integer")
    if kind == "checkpoint":
        if "path" in event and not isinstance(event["path"], str):
            problems.append("path: expected a string")
        if "is_best" in event and not isinstance(event["is_best"], bool):
            problems.append("is_best: expected a boolean")
    if kind == "run_end":
        for name in ("reason", "message"):
            if name in event and not isinstance(event[name], str):
                problems.append(f"{name}: expected a string")
    return problems
