"""Checkpoints: atomic save, weights-only load, clear errors, and RNG state that resumes exactly."""

from __future__ import annotations

import io
import os
import pickle
import shlex
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from engine.checkpoint import (
    CHECKSUM_KEY,
    CheckpointError,
    _temporary_file,
    load_checkpoint,
    remove_stale_temporaries,
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
    assert CHECKSUM_KEY not in loaded  # checked and removed by the loader


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


class _Marker:
    """Creates ``path`` through the shell when unpickled by an unsafe loader."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {shlex.quote(str(self.path))}",))


def write_raw_pickle(path: Path, marker: Path, protocol: int = 4) -> Path:
    """A plain ``pickle`` file (not a torch zip) that would create ``marker`` if unpickled."""
    path.write_bytes(pickle.dumps({"model": _Marker(marker)}, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_a_raw_pickle_is_refused_without_running_it_or_a_warning(
    tmp_path: Path, protocol: int, recwarn: pytest.WarningsRecorder
) -> None:
    marker = tmp_path / "ran"
    path = write_raw_pickle(tmp_path / "evil.pt", marker, protocol)
    pickle.loads(path.read_bytes())  # the payload is real: an unsafe load runs it
    assert marker.exists()
    marker.unlink()
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message == f"{path}: refused: not a torch zip checkpoint (a raw pickle could run code)"
    assert not marker.exists()
    assert not recwarn.list, [str(w.message) for w in recwarn.list]


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


def test_an_unreadable_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.pt"
    save_checkpoint(path, {"w": torch.ones(2)})

    def denied(self: Path, *args: object, **kwargs: object) -> io.BufferedReader:
        # chmod 000 does not stop root, who runs these tests in some containers.
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(
        CheckpointError, match=r"^\S*locked\.pt: cannot read it: Permission denied$"
    ):
        load_checkpoint(path)


def _flip_inside(path: Path, tensor: torch.Tensor) -> None:
    """Flip one byte in the middle of ``tensor``'s raw data where the file stores it."""
    data = bytearray(path.read_bytes())
    raw = tensor.numpy().tobytes()
    start = data.find(raw)
    assert start > 0 and data.find(raw, start + 1) == -1  # found, and only once
    data[start + len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_tensor_data_are_caught(tmp_path: Path) -> None:
    state = _state()
    state["ema"] = {"averaged": {"w": torch.arange(4096, dtype=torch.float32)}}
    path = tmp_path / "step-7.pt"
    save_checkpoint(path, state)
    _flip_inside(path, state["ema"]["averaged"]["w"])
    # torch's own reader does not notice: the zip's record CRCs are not checked on load.
    assert not torch.equal(
        torch.load(path, weights_only=True)["ema"]["averaged"]["w"], state["ema"]["averaged"]["w"]
    )
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == f"{path}: checksum mismatch: the file is corrupt"


def test_the_checksum_covers_plain_values_and_optimizer_states(tmp_path: Path) -> None:
    path = tmp_path / "x.pt"
    save_checkpoint(path, _state())
    for change in (
        lambda s: s.update(step=8),
        lambda s: s["config"]["curriculum"]["stages"][0].__setitem__(1, 4),
        lambda s: s["optimizers"][0]["state"][0]["exp_avg"].add_(1e-7),
        lambda s: s.update(rest=1),
    ):
        state = torch.load(path, weights_only=True)
        change(state)
        edited = tmp_path / "edited.pt"
        torch.save(state, edited)  # the old checksum kept, the contents changed
        with pytest.raises(CheckpointError, match="checksum mismatch"):
            load_checkpoint(edited)


def test_a_resaved_file_gets_a_fresh_checksum_and_files_without_one_load(tmp_path: Path) -> None:
    path = tmp_path / "x.pt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(3)})
    state = torch.load(path, weights_only=True)  # still holds the stored checksum
    assert set(state) == {"step", "w", CHECKSUM_KEY}
    state["step"] = 2
    save_checkpoint(path, state)
    assert load_checkpoint(path)["step"] == 2
    torch.save({"step": 3, "w": torch.ones(3)}, path)  # an older trm checkpoint: no checksum
    assert load_checkpoint(path)["step"] == 3


def test_stale_temporaries_of_interrupted_saves_are_removed_and_nothing_else(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder / "step-5.pt", {"step": 5})
    stale = []
    for name in ("step-6.pt", "latest.pt"):
        handle, tmp = _temporary_file(folder / name)  # named as a killed save leaves them
        os.write(handle, b"half a checkpoint")
        os.close(handle)
        stale.append(tmp)
    outside = tmp_path / "elsewhere.pt"
    outside.write_bytes(b"keep")
    kept = ["step-5.pt", ".latest.pt.tmp", "notes.tmp", ".step-5.pt.short.tmp", "x.abcdefgh.tmp"]
    for name in kept[1:]:
        (folder / name).write_bytes(b"not ours")
    (folder / ".step-8.pt.abcdefgh.tmp").mkdir()
    (folder / ".step-9.pt.abcd1234.tmp").symlink_to(outside)
    assert sorted(remove_stale_temporaries(folder)) == sorted(stale)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*kept, ".step-8.pt.abcdefgh.tmp", ".step-9.pt.abcd1234.tmp"]
    )
    assert outside.read_bytes() == b"keep"
    assert remove_stale_temporaries(folder) == []
    assert remove_stale_temporaries(tmp_path / "absent") == []


def test_a_resumed_run_removes_what_an_interrupted_save_left(tmp_path: Path) -> None:
    from engine.config import apply_overrides
    from engine.events import MemorySink
    from engine.presets import tiny
    from engine.run_dir import RunPaths, create_run_dir
    from engine.trainer import train
    from tests.engine.test_data import write_puzzles

    data = write_puzzles(tmp_path / "puzzles.csv", 24)
    cfg = apply_overrides(tiny(), [f"data.path={data}", "train.max_steps=2"])
    paths = create_run_dir(tmp_path / "run", cfg)
    assert train(cfg, paths.root, MemorySink()).reason == "finished"
    handle, tmp = _temporary_file(paths.step_file(3))
    os.close(handle)
    assert train(cfg, paths.root, MemorySink(), resume=True).reason == "finished"
    assert not tmp.exists()
    assert RunPaths(paths.root).latest.is_file()


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


def test_the_shipped_model_carries_a_checksum() -> None:
    from engine.shipped import SHIPPED

    assert CHECKSUM_KEY in torch.load(SHIPPED, weights_only=True)
    assert load_checkpoint(SHIPPED)["step"] > 0  # and it matches


def test_checkpoints_get_ordinary_file_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        save_checkpoint(tmp_path / "a.pt", _state())
        os.umask(0o077)
        save_checkpoint(tmp_path / "b.pt", _state())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.pt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.pt").stat().st_mode) == 0o600
