"""The benchmark building blocks: timing statistics, depth lists, chunking, default sizes, the
training rig and the memory growth check, on the tiny preset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.bench.cgar import _chunks, bench_cgar
from engine.bench.memory import growth
from engine.bench.peak import matmul_peak
from engine.bench.rig import Rig, default_batch_size
from engine.bench.solve import sample_puzzles
from engine.bench.timing import summarize, time_call
from engine.bench.train import bench_train, curriculum_depths
from engine.curriculum import Depth
from engine.presets import cpu, paper, tiny

CPU = torch.device("cpu")


def test_summarize_median_and_iqr() -> None:
    timing = summarize([4.0, 1.0, 3.0, 2.0, 5.0])
    assert timing.median_s == 3.0
    assert timing.iqr_s == 2.0  # numpy's linear percentiles: 4.0 - 2.0
    assert timing.repeats == 5 and timing.samples_s == (4.0, 1.0, 3.0, 2.0, 5.0)


def test_time_call_warms_up_then_repeats() -> None:
    calls = []
    timing = time_call(lambda: calls.append(1), CPU, warmup=2, repeats=3)
    assert len(calls) == 5 and timing.repeats == 3
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, CPU, repeats=0)


def test_curriculum_depths_are_the_schedule_ending_at_full_depth() -> None:
    assert [(d.n, d.T) for d in curriculum_depths(paper())] == [(2, 1), (4, 2), (6, 3)]
    assert [(d.n, d.T) for d in curriculum_depths(tiny())] == [(1, 1), (1, 2), (2, 2)]


def test_chunks_cover_the_steps_in_order() -> None:
    chunks = _chunks(10, 4)
    assert [len(c) for c in chunks] == [2, 3, 3, 2]  # bounds round(2.5 k): 0, 2, 5, 8, 10
    assert [s for c in chunks for s in c] == list(range(10))
    assert len(_chunks(2, 4)) == 2


def test_default_batch_fits_the_cpu_budget() -> None:
    assert default_batch_size(paper(), CPU) == 8
    assert default_batch_size(cpu(), CPU) == cpu().train.batch_size
    assert default_batch_size(paper(), torch.device("meta")) == paper().train.batch_size


def test_peak_counts_two_n_cubed_flops() -> None:
    peak = matmul_peak(CPU, "fp32", size=64, repeats=2)
    assert peak.flops_per_s == pytest.approx(2 * 64**3 / peak.timing.median_s)
    assert peak.native and peak.size == 64


@pytest.mark.slow
def test_rig_trains_and_train_bench_reports_every_depth() -> None:
    rig = Rig(tiny(), CPU, None, False, batch_size=4)
    before = rig.net.lm_head.weight.detach().clone()
    rig.steps(Depth(n=1, T=1, stage=1), 2)
    assert not torch.equal(before, rig.net.lm_head.weight)
    peaks = {"fp32": matmul_peak(CPU, "fp32", size=64, repeats=1)}
    rows = bench_train(tiny(), CPU, ["fp32"], [False], 4, peaks, warmup=0, repeats=1)
    assert [(r.n, r.T) for r in rows] == [(1, 1), (1, 2), (2, 2)]
    for row in rows:
        assert row.samples_per_s == pytest.approx(4 / row.timing.median_s)
        assert row.mfu_fp32 == pytest.approx(row.flops_per_s / peaks["fp32"].flops_per_s)
        assert row.mfu_bf16 is None


def test_cgar_bench_counts_steps_per_stage() -> None:
    result = bench_cgar(tiny(), CPU, None, False, batch_size=2, n_steps=10, n_chunks=2)
    assert result.steps_per_stage == (3, 3, 4)
    assert result.ratio == pytest.approx(result.fixed_s / result.cgar_s)
    assert 1.0 < result.ideal_ratio < result.ideal_forward_ratio


def test_training_memory_does_not_grow_with_steps() -> None:
    result = growth(Rig(tiny(), CPU, None, False, batch_size=4), n_steps=3)
    assert not result.grows


def test_sample_puzzles_repeat_the_bundled_set() -> None:
    puzzles = sample_puzzles(120)
    assert puzzles.shape == (120, 81) and puzzles.dtype == np.uint8
    assert np.array_equal(puzzles[:50], puzzles[50:100])
