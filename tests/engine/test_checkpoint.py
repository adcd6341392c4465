"""Checkpoints: atomic save, weights-only load, clear errors, and RNG state that resumes exactly."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from engine.optim import AdamATan2


def _state() -> dict:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = AdamATan2(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    return {
        "config": {"preset": "tiny", "curriculum": {"stages": [[0.3, 2, 1], [1.0, 6, 3]]}},
        "model": model.state_dict(),
        "optimizers": [opt.state_dict()],
        "step": 7,
        "carry": {"y": torch.randn(2, 5, 4), "z": torch.randn(2, 5, 4)},
        "rng": rng_state({"data": np.random.default_rng(3)}),
        "shape": torch.Size([2, 3]),
        "dtype": torch.bfloat16,
        "nan": float("nan"),
    }


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    state = _state()
    path = tmp_path / "checkpoints" / "step-7.pt"
    save_checkpoint(path, state)
    loaded = load_checkpoint(path)
    assert loaded["step"] == 7 and loaded["config"] == state["config"]
    assert torch.equal(loaded["carry"]["y"], state["carry"]["y"])
    assert loaded["optimizers"][0]["state"][0]["exp_avg"].shape == (2, 3)
    assert loaded["rng"]["numpy"]["data"] == state["rng"]["numpy"]["data"]
    assert loaded["shape"] == torch.Size([2, 3]) and loaded["dtype"] is torch.bfloat16
    assert [p.name for p in path.parent.iterdir()] == ["step-7.pt"]  # no temporary file left


def test_save_replaces_atomically_and_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "latest.pt"
    save_checkpoint(path, {"step": 1})
    with pytest.raises(CheckpointError, match=r"latest\.pt.*state\['bad'\] \(object\)"):
        save_checkpoint(path, {"step": 2, "bad": object()})
    assert load_checkpoint(path)["step"] == 1
    save_checkpoint(path, {"step": 3})
    assert load_checkpoint(path)["step"] == 3
    assert os.listdir(tmp_path) == ["latest.pt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "latest.pt"
    save_checkpoint(path, {"step": 1})

    def broken_save(obj: object, f: io.BufferedWriter) -> None:
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert os.listdir(tmp_path) == ["latest.pt"]


def test_save_refuses_values_weights_only_would_reject(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"state\['rng'\]\['g'\] \(Generator\)"):
        save_checkpoint(tmp_path / "x.pt", {"rng": {"g": np.random.default_rng(0)}})
    with pytest.raises(CheckpointError, match=r"state\['a'\]\[1\] \(ndarray\)"):
        save_checkpoint(tmp_path / "x.pt", {"a": [1, np.zeros(2)]})
    assert not (tmp_path / "x.pt").exists()


def test_numpy_scalars_are_saved_as_python_numbers(tmp_path: Path) -> None:
    state = {"best": np.float64(0.25), "sums": [np.int64(3), np.bool_(True)], "w": torch.ones(1)}
    save_checkpoint(tmp_path / "x.pt", state)
    loaded = load_checkpoint(tmp_path / "x.pt")
    assert loaded["best"] == 0.25 and type(loaded["best"]) is float
    assert loaded["sums"] == [3, True] and type(loaded["sums"][0]) is int
    assert type(state["best"]) is np.float64  # the caller's dict is left alone


class _Payload:
    """Runs code when unpickled by a non-weights-only loader."""

    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    buffer = io.BytesIO()
    torch.save({"model": _Payload()}, buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such checkpoint file"),
        (b"", "empty file"),
        (b"hello, this is not a torch file", "not a readable torch checkpoint"),
        (b"i am a text file\n", "not a readable torch checkpoint"),  # an "unsupported operand"
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"bad\.pt: {message}"):
        load_checkpoint(path)


def test_truncated_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.pt"
    save_checkpoint(path, {"w": torch.randn(64, 64)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable torch checkpoint"):
        load_checkpoint(path)


def test_a_directory_or_a_non_dict_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)
    torch.save(torch.zeros(2), tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match="holds a Tensor, expected a dict"):
        load_checkpoint(tmp_path / "t.pt")


def test_bare_state_dict_loads(tmp_path: Path) -> None:
    # The TRM reference trainer saves bare model state dicts with plain torch.save.
    weights = nn.Linear(2, 2).state_dict()
    torch.save(weights, tmp_path / "step_100")
    loaded = load_checkpoint(tmp_path / "step_100")
    assert torch.equal(loaded["weight"], weights["weight"])


def test_rng_state_resumes_torch_and_numpy_exactly(tmp_path: Path) -> None:
    torch.manual_seed(5)
    rng = np.random.default_rng(11)
    rng.random(3)
    save_checkpoint(tmp_path / "rng.pt", {"rng": rng_state({"data": rng})})
    expected_torch, expected_numpy = torch.rand(4), rng.integers(0, 1000, 5)

    torch.manual_seed(99)
    other = np.random.default_rng(0)
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"], {"data": other})
    assert torch.equal(torch.rand(4), expected_torch)
    assert np.array_equal(other.integers(0, 1000, 5), expected_numpy)


def test_set_rng_state_needs_every_named_generator() -> None:
    with pytest.raises(KeyError, match="sampler"):
        set_rng_state(rng_state(), {"sampler": np.random.default_rng(0)})
