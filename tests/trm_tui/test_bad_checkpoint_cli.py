"""A bad checkpoint given to `trm eval`, `trm solve --checkpoint` or `trm convert` (a raw pickle,
flipped bytes in tensor data) is one line on stderr, exit code 2, no warning, nothing written and
nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from engine.checkpoint import save_checkpoint
from engine.model import TRM
from engine.presets import tiny
from tests.engine.test_checkpoint import write_raw_pickle
from tests.engine.test_data import write_puzzles
from trm_tui.cli import app

runner = CliRunner()


def _commands(checkpoint: Path, tmp_path: Path) -> dict[str, list[str]]:
    puzzles = write_puzzles(tmp_path / "puzzles.csv", 2)
    return {
        "eval": ["eval", str(checkpoint), "--data", str(puzzles)],
        "solve": ["solve", str(puzzles), "--checkpoint", str(checkpoint)],
        "convert": ["convert", str(checkpoint), str(tmp_path / "out.pt")],
    }


def _assert_one_line_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [f"trm: error: {expected}"]
    assert not (tmp_path / "out.pt").exists()


@pytest.mark.parametrize("command", ["eval", "solve", "convert"])
def test_a_raw_pickle_is_refused_by_every_command(
    tmp_path: Path, command: str, recwarn: pytest.WarningsRecorder
) -> None:
    marker = tmp_path / "ran"
    path = write_raw_pickle(tmp_path / "evil.pt", marker)
    expected = f"{path}: refused: not a torch zip checkpoint (a raw pickle could run code)"
    _assert_one_line_exit_2(tmp_path, _commands(path, tmp_path)[command], expected)
    assert not marker.exists()
    assert not recwarn.list, [str(w.message) for w in recwarn.list]


@pytest.mark.parametrize("command", ["eval", "solve", "convert"])
def test_flipped_tensor_bytes_are_refused_by_every_command(tmp_path: Path, command: str) -> None:
    cfg = tiny()
    model = TRM(cfg.model)
    path = tmp_path / "flipped.pt"
    save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict(), "step": 1})
    data = bytearray(path.read_bytes())
    raw = model.q_head.weight.detach().numpy().tobytes()
    start = data.find(raw)
    assert start > 0
    data[start + len(raw) // 2] ^= 0x01  # one bit
    path.write_bytes(bytes(data))
    expected = f"{path}: checksum mismatch: the file is corrupt"
    _assert_one_line_exit_2(tmp_path, _commands(path, tmp_path)[command], expected)
    assert torch.load(path, weights_only=True)["step"] == 1  # torch alone would have used it
