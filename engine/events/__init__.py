"""The event stream of a run (DESIGN.md, "Run directory"): ``events.jsonl``, one JSON object per
line, flushed per line, read back tolerantly by the dashboard, the CLI and users' scripts.

Every event has ``"v"`` (:data:`SCHEMA_VERSION`), ``"kind"``, ``"step"`` and ``"time"`` (unix
seconds) plus the fields of its kind (:data:`REQUIRED_FIELDS`). Values are made plain JSON on the
way out: tensors and numpy values become numbers or lists, and non-finite floats become ``null``
(bare ``NaN`` is not JSON). Readers skip blank lines, a partial last line (a writer mid-line) and
bad lines, each described in ``errors`` by file, line and what is wrong (:func:`parse_line`: not
UTF-8, not JSON, not an object with a ``kind``, a known field of the wrong type, too long), and
keep unknown kinds and fields. No line can make a reader raise.

The stream's three concerns live in this package: :mod:`engine.events.schema` (kinds, fields and
their checks), :mod:`engine.events.write` (the sinks) and :mod:`engine.events.read` (the tolerant
readers). Their public names are all importable from ``engine.events``.
"""

from engine.events.read import MAX_LINE_BYTES, follow_events, parse_line, read_events
from engine.events.schema import (
    NUMERIC_FIELDS,
    REQUIRED_FIELDS,
    RESERVED,
    RUN_END_REASONS,
    SCHEMA_VERSION,
    type_problems,
    validate_event,
)
from engine.events.write import EventSink, Fanout, MemorySink, make_event, to_json_value

__all__ = [
    "MAX_LINE_BYTES",
    "NUMERIC_FIELDS",
    "REQUIRED_FIELDS",
    "RESERVED",
    "RUN_END_REASONS",
    "SCHEMA_VERSION",
    "EventSink",
    "Fanout",
    "MemorySink",
    "follow_events",
    "make_event",
    "parse_line",
    "read_events",
    "to_json_value",
    "type_problems",
    "validate_event",
]
