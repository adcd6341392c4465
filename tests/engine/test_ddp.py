"""Data-parallel training on CPU: two Gloo processes split the global batch, rank 0 writes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from engine.checkpoint import load_checkpoint
from engine.config import RunConfig, apply_overrides
from engine.events import EventSink, read_events, validate_event
from engine.presets import tiny, with_cgar
from engine.run_dir import RunPaths, create_run_dir
from engine.trainer import train
from tests.engine.test_data import write_puzzles

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, config: dict, run_dir: str, port: int) -> None:
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD),
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )  # fmt: skip
    torch.set_num_threads(1)
    sink = EventSink(Path(run_dir) / "events.jsonl") if rank == 0 else None
    summary = train(RunConfig.from_dict(config), Path(run_dir), sink)
    if summary.reason != "finished":
        raise RuntimeError(f"rank {rank}: {summary.message}")


@pytest.mark.slow
def test_two_gloo_processes_train_one_run(tmp_path: Path) -> None:
    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    cfg = apply_overrides(
        with_cgar(tiny()), [f"data.path={data}", "train.max_steps=4", "train.eval_every=2"]
    )
    paths = create_run_dir(tmp_path / "run", cfg)
    mp.spawn(_worker, args=(cfg.to_dict(), str(paths.root), _free_port()), nprocs=WORLD, join=True)

    events = read_events(paths.events)
    assert all(validate_event(e) == [] for e in events)
    assert [e["kind"] for e in events].count("run_start") == 1  # rank 0 only
    assert events[-1]["kind"] == "run_end" and events[-1]["reason"] == "finished"
    start = events[0]
    assert start["world_size"] == WORLD
    for event in (e for e in events if e["kind"] == "train"):
        assert sum(event["steps_histogram"]) == cfg.train.batch_size  # summed over ranks
    state = load_checkpoint(RunPaths(paths.root).latest)
    ranks = state["ranks"]
    assert len(ranks) == WORLD
    assert all(r["batch"]["tokens"].shape[0] == cfg.train.batch_size // WORLD for r in ranks)
    assert not torch.equal(ranks[0]["batch"]["tokens"], ranks[1]["batch"]["tokens"])
