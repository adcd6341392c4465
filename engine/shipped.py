"""The model that ships inside the package, and the compact inference-only checkpoint it is.

``trm solve`` and the dashboard's solve view fall back to :func:`shipped_checkpoint` when no run
exists, so a fresh install can watch a trained network think without training one. How the
shipped file was made (command, data, steps, measured accuracy) is written in
``engine/models/README.md`` beside it.

An inference-only checkpoint keeps what ``load_trained_model`` reads and nothing else: the
configuration, the step, and the weights inference uses (the EMA weights when the source has
them) under ``"model"``; no optimizer, carry or RNG state, so it is a fraction of the size and
cannot be resumed.
"""

from __future__ import annotations

from pathlib import Path

from engine.checkpoint import save_checkpoint
from engine.evaluate import TrainedModel

SHIPPED = Path(__file__).parent / "models" / "sudoku-cpu.pt"


def shipped_checkpoint() -> Path | None:
    """The checkpoint bundled with the package, or ``None`` in a build without it."""
    return SHIPPED if SHIPPED.is_file() else None


def write_inference_checkpoint(trained: TrainedModel, out: Path) -> None:
    """Save ``trained`` as a compact checkpoint every command reads (atomic; no resume state)."""
    state = {
        "config": trained.config.to_dict(),
        "step": trained.step,
        "model": {k: v.detach().cpu() for k, v in trained.model.state_dict().items()},
        "converted_from": str(trained.path),
    }
    save_checkpoint(out, state)
