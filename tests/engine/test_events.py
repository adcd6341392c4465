"""Event stream: written events read back; tolerant readers; incremental follow; the schema."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.events import (
    REQUIRED_FIELDS,
    SCHEMA_VERSION,
    EventSink,
    Fanout,
    MemorySink,
    follow_events,
    read_events,
    validate_event,
)

TRAIN_FIELDS: dict[str, Any] = {
    "loss": 1.5,
    "lm_loss": 1.2,
    "halt_loss": 0.6,
    "lr": 1e-4,
    "cell_accuracy": 0.5,
    "exact_accuracy": 0.0,
    "halt_accuracy": 0.9,
    "avg_steps": 3.5,
    "depth": {"n": 2, "T": 1},
    "stage": 1,
    "hsw_weights": None,
    "samples_per_s": 120.0,
}
VALID: dict[str, dict[str, Any]] = {
    "run_start": {"config": {"preset": "tiny"}, "total_steps": 10, "device": "cpu", "n_params": 7},
    "train": TRAIN_FIELDS,
    "stage": {"stage": 2, "depth": {"n": 4, "T": 2}, "rho": 0.3},
    "eval": {
        "split": "test",
        "exact_accuracy": 0.25,
        "cell_accuracy": 0.8,
        "halt_accuracy": 0.7,
        "avg_halt_step": 5.0,
        "n_puzzles": 16,
    },
    "checkpoint": {"path": "runs/a/checkpoints/step-10.pt", "is_best": True},
    "run_end": {"reason": "finished", "message": ""},
}


def test_written_events_read_back(tmp_path: Path) -> None:
    path = tmp_path / "run" / "events.jsonl"
    with EventSink(path) as sink:
        first = sink.emit("run_start", 0, **VALID["run_start"])
        sink.emit("train", 1, **TRAIN_FIELDS)
    events = read_events(path)
    assert events[0] == first
    assert [e["kind"] for e in events] == ["run_start", "train"]
    assert events[1]["depth"] == {"n": 2, "T": 1}
    assert set(events[1]) == {"v", "kind", "step", "time", *TRAIN_FIELDS}
    assert events[1]["v"] == SCHEMA_VERSION and events[1]["step"] == 1
    assert path.read_text().count("\n") == 2  # one line per event


def test_emit_flushes_each_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = EventSink(path)
    sink.emit("train", 3, **TRAIN_FIELDS)
    assert read_events(path)[0]["step"] == 3  # visible before close
    sink.close()


def test_non_finite_and_tensor_values_become_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventSink(path) as sink:
        sink.emit(
            "train",
            1,
            loss=float("nan"),
            lm_loss=torch.tensor(float("inf")),
            lr=np.float32(0.5),
            hsw_weights=torch.tensor([0.5, float("-inf")]),
            n=np.int64(3),
            where=tmp_path,
        )
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    event = json.loads(text)
    assert event["loss"] is None and event["lm_loss"] is None
    assert event["lr"] == 0.5 and event["n"] == 3 and event["where"] == str(tmp_path)
    assert event["hsw_weights"] == [0.5, None]


def test_emit_rejects_reserved_fields_and_unknown_types() -> None:
    sink = MemorySink()
    with pytest.raises(ValueError, match="override"):
        sink.emit("train", 1, time=2.0)
    with pytest.raises(TypeError, match="object"):
        sink.emit("train", 1, thing=object())


def test_reader_tolerates_garbage_blank_unknown_and_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = {"v": 1, "kind": "train", "step": 1, "time": 0.0, "loss": 1.0}
    future = {"v": 2, "kind": "new_kind", "step": 2, "time": 0.0, "extra": [1, 2]}
    path.write_text(
        json.dumps(good) + "\n\nnot json at all\n[1, 2]\n" + json.dumps(future) + '\n{"v": 1, "ki'
    )
    errors: list[str] = []
    events = read_events(path, errors)
    assert events == [good, future]
    assert len(errors) == 2  # the garbage line and the non-object; not the partial last line
    assert errors[0].startswith(f"{path}:3:")
    assert errors[1].startswith(f"{path}:4:")


def test_reader_keeps_a_whole_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"v": 1, "kind": "run_end", "step": 5, "time": 1.0}')
    assert read_events(path)[0]["kind"] == "run_end"


def test_follow_reads_only_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    assert follow_events(path, 0) == ([], 0)  # no file yet
    line1 = json.dumps({"v": 1, "kind": "train", "step": 1, "time": 0.0}) + "\n"
    line2 = json.dumps({"v": 1, "kind": "train", "step": 2, "time": 0.0}) + "\n"
    path.write_text(line1 + line2[:10])
    events, offset = follow_events(path, 0)
    assert [e["step"] for e in events] == [1]
    assert offset == len(line1.encode())
    assert follow_events(path, offset) == ([], offset)  # the partial line waits
    with path.open("a") as f:
        f.write(line2[10:] + "garbage\n")
    errors: list[str] = []
    events, offset = follow_events(path, offset, errors)
    assert [e["step"] for e in events] == [2]
    assert offset == path.stat().st_size
    assert len(errors) == 1


def test_follow_restarts_when_the_file_shrinks(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"v": 1, "kind": "train", "step": 9, "time": 0.0}) + "\n")
    events, offset = follow_events(path, 10_000)
    assert [e["step"] for e in events] == [9]
    assert offset == path.stat().st_size


def test_sink_ends_a_partial_line_left_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"v": 1, "kind": "train", "step": 1, "time": 0.0}) + '\n{"v": 1, "k')
    with EventSink(path) as sink:
        sink.emit("run_start", 2, **VALID["run_start"])
    errors: list[str] = []
    events = read_events(path, errors)
    assert [e["step"] for e in events] == [1, 2]
    assert len(errors) == 1  # the crashed line, now complete garbage


def test_fanout_sends_one_event_to_every_target(tmp_path: Path) -> None:
    memory, seen = MemorySink(), []
    path = tmp_path / "events.jsonl"
    fanout = Fanout(EventSink(path), memory, seen.append)
    event = fanout.emit("stage", 30, **VALID["stage"])
    fanout.close()
    assert read_events(path) == [event]
    assert memory.events == [event] and memory.of_kind("stage") == [event]
    assert seen == [event]


def test_memory_sink_stores_what_a_file_reader_would_see() -> None:
    sink = MemorySink()
    sink.emit("train", 1, loss=math.nan, depth={"n": 1, "T": 2})
    assert sink.events[0]["loss"] is None


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_events_pass_validation(kind: str) -> None:
    assert validate_event(MemorySink().emit(kind, 0, **VALID[kind])) == []


@pytest.mark.parametrize("kind", sorted(REQUIRED_FIELDS))
def test_each_required_field_is_checked(kind: str) -> None:
    for name in REQUIRED_FIELDS[kind]:
        fields = {k: v for k, v in VALID[kind].items() if k != name}
        problems = validate_event(MemorySink().emit(kind, 0, **fields))
        assert problems == [f"{kind}.{name}: missing"]


@pytest.mark.parametrize(
    ("kind", "bad", "problem"),
    [
        ("train", {"loss": "high"}, "train.loss: expected a number or null"),
        ("train", {"depth": {"n": 0, "T": 1}}, "train.depth.n: expected a positive integer"),
        ("train", {"stage": 0}, "train.stage: expected a 1-based integer"),
        ("train", {"hsw_weights": [0.5, "x"]}, "train.hsw_weights: expected a list of numbers"),
        ("stage", {"depth": [2, 1]}, "stage.depth: expected an object {n, T}"),
        ("eval", {"n_puzzles": 1.5}, "eval.n_puzzles: expected an integer"),
        ("checkpoint", {"is_best": 1}, "checkpoint.is_best: expected a boolean"),
        ("run_end", {"reason": "bored"}, "run_end.reason: expected one of"),
        ("run_start", {"config": "paper"}, "run_start.config: expected an object"),
    ],
)
def test_bad_field_types_are_reported(kind: str, bad: dict[str, Any], problem: str) -> None:
    problems = validate_event(MemorySink().emit(kind, 0, **{**VALID[kind], **bad}))
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_validation_of_common_keys_and_unknown_kinds() -> None:
    assert validate_event({"v": 1, "kind": "custom", "step": 0, "time": 1.0, "x": 1}) == []
    problems = validate_event({"v": 0, "step": "1"})
    assert problems == [
        "v: expected 1, got 0",
        "kind: expected a string",
        "step: expected an integer",
        "time: expected unix seconds",
    ]
