"""Which checkpoint the solve view runs: the open run's once it has one, else the newest run's,
else the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest

from trm_tui.dashboard.solving import find_checkpoint


def _run(root: Path, name: str, with_checkpoint: bool) -> Path:
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    if with_checkpoint:
        (run / "checkpoints" / "best.pt").write_bytes(b"weights")
    return run


def test_a_run_without_checkpoints_falls_back_to_one_that_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.shipped.SHIPPED", tmp_path / "not-shipped.pt")
    trained = _run(tmp_path, "trained", with_checkpoint=True)
    fresh = _run(tmp_path, "fresh", with_checkpoint=False)
    assert find_checkpoint(fresh, tmp_path) == trained / "checkpoints" / "best.pt"
    assert find_checkpoint(trained, tmp_path) == trained
    assert find_checkpoint(tmp_path / "some.pt", tmp_path) == tmp_path / "some.pt"


def test_with_no_trained_run_the_shipped_model_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tmp_path / "shipped.pt"
    shipped.write_bytes(b"weights")
    monkeypatch.setattr("engine.shipped.SHIPPED", shipped)
    fresh = _run(tmp_path, "fresh", with_checkpoint=False)
    assert find_checkpoint(fresh, tmp_path) == shipped
    monkeypatch.setattr("engine.shipped.SHIPPED", tmp_path / "absent.pt")
    assert find_checkpoint(fresh, tmp_path) is None
