"""Writing events: plain-JSON values, one event dict, and the sinks (a JSONL file, memory, a
fan-out)."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.events.schema import RESERVED, SCHEMA_VERSION


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
