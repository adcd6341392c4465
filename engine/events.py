"""The event stream of a run (DESIGN.md, "Run directory"): ``events.jsonl``, one JSON object per
line, flushed per line, read back tolerantly by the dashboard, the CLI and users' scripts.

Every event has ``"v"`` (:data:`SCHEMA_VERSION`), ``"kind"``, ``"step"`` and ``"time"`` (unix
seconds) plus the fields of its kind (:data:`REQUIRED_FIELDS`). Values are made plain JSON on the
way out: tensors and numpy values become numbers or lists, and non-finite floats become ``null``
(bare ``NaN`` is not JSON). Readers skip blank lines, a partial last line (a writer mid-line) and
bad lines, each described in ``errors`` by file, line and what is wrong (:func:`parse_line`: not
UTF-8, not JSON, not an object with a ``kind``, a known field of the wrong type, too long), and
keep unknown kinds and fields. No line can make a reader raise.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
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


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON data: non-finite floats -> None, tensors/numpy -> lists/numbers."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json_value(dataclasses.asdict(value))
    if hasattr(value, "tolist"):  # torch tensors, numpy arrays and numpy scalars
        return to_json_value(value.tolist())
    raise TypeError(f"cannot write a {type(value).__name__} into an event")


def make_event(kind: str, step: int, fields: dict[str, Any]) -> dict[str, Any]:
    """One event dict: the four common keys first, then ``fields`` made plain JSON."""
    clash = [k for k in fields if k in RESERVED]
    if clash:
        raise ValueError(f"event fields may not override {clash}")
    event: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "kind": kind,
        "step": int(step),
        "time": time.time(),
    }
    event.update(to_json_value(fields))
    return event


class _Emitter:
    """``emit`` for every sink: build the event once, then ``write`` it."""

    def emit(self, kind: str, step: int, **fields: Any) -> dict[str, Any]:
        """Build one event from ``fields``, write it, and return it."""
        event = make_event(kind, step, fields)
        self.write(event)
        return event

    def write(self, event: dict[str, Any]) -> None:
        raise NotImplementedError


class EventSink(_Emitter):
    """Appends events to a JSONL file, one line per event, flushed per line."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        # A run that died mid-line left a partial line: end it so our first event stays whole.
        if self._file.tell() > 0 and not _ends_with_newline(self.path):
            self._file.write("\n")
            self._file.flush()

    def write(self, event: dict[str, Any]) -> None:
        """Write an already built event (see :func:`make_event`)."""
        line = json.dumps(event, allow_nan=False, separators=(",", ":"))
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file; later emits raise ``ValueError``."""
        self._file.close()

    def __enter__(self) -> EventSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1) == b"\n"


class MemorySink(_Emitter):
    """Keeps events in :attr:`events` (for tests and in-process consumers)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def write(self, event: dict[str, Any]) -> None:
        """Record an already built event."""
        # A JSON round trip makes the stored event exactly what a file reader would see.
        self.events.append(json.loads(json.dumps(event, allow_nan=False)))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """The recorded events of one kind, in order."""
        return [e for e in self.events if e["kind"] == kind]

    def close(self) -> None:
        """Nothing to release."""


class Fanout(_Emitter):
    """Sends each event to several sinks (e.g. the file and a live display callback).

    ``targets`` are sinks (objects with ``write(event)``) or plain callables taking the event.
    The event is built once, so every target sees the same ``time``.
    """

    def __init__(self, *targets: Any) -> None:
        self.targets = targets

    def write(self, event: dict[str, Any]) -> None:
        """Hand an already built event to every target."""
        for target in self.targets:
            if hasattr(target, "write"):
                target.write(event)
            else:
                target(event)

    def close(self) -> None:
        """Close every target that can be closed."""
        for target in self.targets:
            close: Callable[[], None] | None = getattr(target, "close", None)
            if close is not None:
                close()


# Far above any real event (a run_start with the whole configuration is a few KB): a longer
# line is not parsed, so one runaway line cannot stall or swamp a reader.
MAX_LINE_BYTES = 1 << 20
# A float holds every figure of an event; a larger number is none a run could have written.
_FLOAT_MAX = sys.float_info.max
_INT_LIMIT = 2**63


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """One line's bytes as ``(event, None)``, or ``(None, what is wrong)``; ``(None, None)`` if blank.

    An event is a JSON object with a string ``kind``, whose common keys and known fields have
    the types DESIGN.md gives (see :func:`type_problems`): a line that breaks this is bad as a
    whole, so no reader has to guard each field.
    """
    if len(raw) > MAX_LINE_BYTES:
        return None, f"line of {len(raw)} bytes, longer than the {MAX_LINE_BYTES}-byte limit"
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 text (byte {e.start + 1} of the line)"
    if not text:
        return None, None
    try:
        event = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        return None, f"not JSON ({e.msg} at column {e.colno})"
    except RecursionError:
        return None, "not an event (JSON nested too deeply)"
    except ValueError as e:  # Python's limit on digits of an integer, or NaN/Infinity
        reason = str(e) if isinstance(e, _ConstantError) else "a number with too many digits"
        return None, f"not JSON ({reason})"
    if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
        return None, "not an event (a JSON object with a 'kind')"
    if "\\u" in text and _has_lone_surrogate(event):
        return None, "not UTF-8 text (a \\u escape of half a surrogate pair)"
    problems = type_problems(event)
    if problems:
        return None, f"bad event ({'; '.join(problems)})"
    return event, None


class _ConstantError(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in a line: Python reads them, JSON has no such words."""


def _reject_constant(name: str) -> Any:
    raise _ConstantError(f"{name} is not JSON; a writer puts null for a non-finite value")


def _has_lone_surrogate(event: dict[str, Any]) -> bool:
    """Whether a string of ``event`` holds half a surrogate pair (no terminal can print it)."""
    try:
        json.dumps(event, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _where(path: Path, line: int, problem: str) -> str:
    return f"{path}:{line}: {problem}"


def _parse_guarded(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """:func:`parse_line`, with any exception it raises turned into the line's problem.

    Nothing in one line may stop a reader (a dashboard thread that died would leave every run
    on screen frozen), so even a fault of this module's own is reported as that line's."""
    try:
        return parse_line(raw)
    except Exception as e:  # reported as the line's problem and reading goes on
        return None, f"could not be read ({type(e).__name__}: {e})"


def read_events(path: Path | str, errors: list[str] | None = None) -> list[dict[str, Any]]:
    """All events of ``path`` in order; bad lines are skipped and described in ``errors``.

    A last line without its newline is used if it is a whole event, else skipped silently (a
    writer is probably mid-line). A missing file raises ``FileNotFoundError``.
    """
    path = Path(path)
    data = path.read_bytes()
    lines = data.split(b"\n")
    events = []
    for number, raw in enumerate(lines, start=1):
        event, problem = _parse_guarded(raw)
        if event is not None:
            events.append(event)
        # After the last newline: complete only if it parses.
        elif problem is not None and errors is not None and number < len(lines):
            errors.append(_where(path, number, problem))
    return events


def follow_events(
    path: Path | str, offset: int, errors: list[str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Events in complete lines after byte ``offset``, and the offset to continue from.

    A partial last line is left for the next call, unless it is already longer than
    :data:`MAX_LINE_BYTES`: then it is reported and passed over. A missing file gives
    ``([], 0)``; a file now shorter than ``offset`` (replaced or truncated) is read again from
    the start. Other ``OSError`` (the path is a directory, no permission) propagate.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            if size < offset:
                offset = 0
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1  # 0 when there is no complete line yet
    lines = data[:end].split(b"\n")[:-1]
    if len(data) - end > MAX_LINE_BYTES:  # a runaway line: no use waiting for its end
        lines.append(data[end:])
        end = len(data)
    events = []
    first_line: int | None = None  # the number of the line at ``offset``, counted when needed
    for index, raw in enumerate(lines):
        event, problem = _parse_guarded(raw)
        if event is not None:
            events.append(event)
        elif problem is not None and errors is not None:
            if first_line is None:
                first_line = _count_lines(path, offset) + 1
            errors.append(_where(path, first_line + index, problem))
    return events, offset + end


def _count_lines(path: Path, offset: int) -> int:
    """Newlines in the first ``offset`` bytes of ``path`` (read in blocks: the file may be big)."""
    count = 0
    with path.open("rb") as f:
        while offset > 0:
            block = f.read(min(offset, 1 << 20))
            if not block:
                break
            count += block.count(b"\n")
            offset -= len(block)
    return count


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
