"""Checkpoint files and random-generator state (DESIGN.md, "Checkpoints").

A checkpoint is one ``torch.save`` file holding whatever dict the trainer builds (configuration,
model and EMA weights, optimizer states, step, carry, RNG states). It is written to a temporary
file in the same folder and renamed over the target, so a crash never leaves a half-written
checkpoint under the real name. It is read with ``torch.load(weights_only=True)`` only: a
checkpoint holds tensors and plain data and can never run code. Unlike the TRM reference
trainer, which saves bare model weights, the state is complete so a resumed run continues
exactly.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch


class CheckpointError(Exception):
    """A checkpoint cannot be written or read; the message names the file and the problem."""


# Exact types, not isinstance: numpy scalars subclass float but weights-only loading refuses them.
_PLAIN_TYPES = (str, bytes, int, float, bool, type(None))
_TORCH_TYPES = (torch.Tensor, torch.dtype, torch.Size)


def _plain(value: Any, where: str, unsafe: list[str]) -> Any:
    """``value`` with numpy scalars made Python numbers; what else weights-only loading would
    refuse is listed in ``unsafe``. Containers are rebuilt only when something in them changed
    (a module state dict keeps its ``_metadata``)."""
    if type(value) in (dict, OrderedDict):
        items = {}
        for key, item in value.items():
            if type(key) not in (str, int):
                unsafe.append(f"{where}[{key!r}] (key of type {type(key).__name__})")
            items[key] = _plain(item, f"{where}[{key!r}]", unsafe)
        same = all(items[key] is item for key, item in value.items())
        return value if same else type(value)(items)
    if type(value) in (list, tuple):
        items = [_plain(item, f"{where}[{i}]", unsafe) for i, item in enumerate(value)]
        same = all(new is old for new, old in zip(items, value, strict=True))
        return value if same else type(value)(items)
    if type(value) in _PLAIN_TYPES or isinstance(value, _TORCH_TYPES):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()  # a metric that came out of numpy: lossless as a Python number
    unsafe.append(f"{where} ({type(value).__name__})")
    return value


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file in the same folder, then rename).

    Numpy scalars are saved as Python numbers; other values that weights-only loading would
    refuse (numpy arrays, generators, arbitrary objects) raise :class:`CheckpointError`.
    """
    path = Path(path)
    unsafe: list[str] = []
    state = _plain(state, "state", unsafe)
    if unsafe:
        raise CheckpointError(
            f"{path}: refusing to save values that weights-only loading rejects: {', '.join(unsafe)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Never leave a stray temporary file behind, whatever stopped the write.
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (or a bare reference state dict)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        # torch.load reports corrupt input with many exception types (KeyError, OSError,
        # EOFError, RuntimeError, UnpicklingError, ...); each becomes one clear message.
        raise CheckpointError(f"{path}: {_describe_load_error(e)}") from e
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, expected a dict")
    return state


def _describe_load_error(error: Exception) -> str:
    text = str(error)
    # A file that is not a pickle at all (text, another format) also fails the weights-only
    # unpickler, as an "Unsupported operand"; only an unsupported global means code.
    if "Unsupported operand" in text:
        return "not a readable torch checkpoint (truncated or another format)"
    if "Weights only load failed" in text or "Unsupported global" in text:
        return (
            "refused: the file holds objects other than tensors and plain data, which could run "
            "code when loaded"
        )
    return f"not a readable torch checkpoint (truncated or another format): {type(error).__name__}"


def rng_state(generators: dict[str, np.random.Generator] | None = None) -> dict[str, Any]:
    """Torch CPU (and CUDA, if present) RNG states, plus the named numpy ``generators``' states.

    Everything is tensors, dicts, strings and ints, so it loads with ``weights_only=True``.
    """
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generators:
        state["numpy"] = {name: rng.bit_generator.state for name, rng in generators.items()}
    return state


def set_rng_state(
    state: dict[str, Any], generators: dict[str, np.random.Generator] | None = None
) -> None:
    """Restore what :func:`rng_state` saved; numpy states go into the named ``generators``."""
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        # A run resumed on fewer GPUs restores the ones it has.
        for index in range(min(len(cuda_states), torch.cuda.device_count())):
            torch.cuda.set_rng_state(cuda_states[index].cpu(), index)
    saved = state.get("numpy", {})
    for name, rng in (generators or {}).items():
        if name not in saved:
            raise KeyError(f"no saved state for the numpy generator {name!r}")
        rng.bit_generator.state = saved[name]
