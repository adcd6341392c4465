"""Reading events back, tolerantly: one line (:func:`parse_line`), a whole file
(:func:`read_events`) or what a live file gained since an offset (:func:`follow_events`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.events.schema import type_problems

# Far above any real event (a run_start with the whole configuration is a few KB): a longer
# line is not parsed, so one runaway line cannot stall or swamp a reader.
MAX_LINE_BYTES = 1 << 20


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """One line's bytes as ``(event, None)``, or ``(None, what is wrong)``; ``(None, None)`` if
    blank.

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
    """``NaN``, ``Infinity`` or ``-Infinity`` in a line: Python reads them, JSON has no such
    words."""


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
