"""Checkpoint files and random-generator state (DESIGN.md, "Checkpoints").

A checkpoint is one ``torch.save`` file holding whatever dict the trainer builds (configuration,
model and EMA weights, optimizer states, step, carry, RNG states). It is written to a temporary
file in the same folder and renamed over the target, so a crash never leaves a half-written
checkpoint under the real name; what a killed process leaves behind is removed by
:func:`remove_stale_temporaries` when a run starts. It is read with
``torch.load(weights_only=True)`` only, and only from a torch zip archive (a raw pickle is
refused before torch sees it): a checkpoint holds tensors and plain data and can never run code.
Unlike the TRM reference trainer, which saves bare model weights, the state is complete so a
resumed run continues exactly.

Torch's zip reader does not check its records' CRCs, so a flipped bit in tensor data would load
silently: our files carry a CRC-32 of everything in them (every tensor's dtype, shape and bytes,
every plain value, in the dict's own order) under ``trm_checksum``, checked on load and removed
from what the loader returns. Files without one (reference state dicts, our older checkpoints)
load as before.
"""

from __future__ import annotations

import copy
import io
import os
import pickletools
import re
import secrets
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch


class CheckpointError(Exception):
    """A checkpoint cannot be written or read; the message names the file and the problem."""


CHECKSUM_KEY = "trm_checksum"  # {"crc32": int} over the rest of the file (see the module doc)
_ZIP_MAGIC = b"PK\x03\x04"  # what torch.save's zip archives start with
_PICKLE_PROTO = b"\x80"  # a pickle of protocol 2 or later starts with the PROTO opcode
_SNIFF_BYTES = 1 << 16  # enough to see a small (protocol 0 or 1) pickle end
# The temporary files of save_checkpoint: ".<target name>.<8 characters of [a-z0-9_]>.tmp".
_TOKEN_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")

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

    A CRC-32 of the contents is added under ``trm_checksum``. Numpy scalars are saved as Python
    numbers; other values that weights-only loading would refuse (numpy arrays, generators,
    arbitrary objects) raise :class:`CheckpointError`.
    """
    path = Path(path)
    unsafe: list[str] = []
    state = _plain(state, "state", unsafe)
    if unsafe:
        raise CheckpointError(
            f"{path}: refusing to save values that weights-only loading rejects: "
            f"{', '.join(unsafe)}"
        )
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: a checkpoint is a dict, not a {type(state).__name__}")
    state = copy.copy(state)  # the caller's dict is left alone; an OrderedDict keeps _metadata
    state.pop(CHECKSUM_KEY, None)  # a re-saved file gets a fresh checksum
    state[CHECKSUM_KEY] = {"crc32": _checksum(state)}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = _temporary_file(path)
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


def _temporary_file(path: Path) -> tuple[int, Path]:
    """A new, open temporary file beside ``path`` (``.<name>.<8 random characters>.tmp``), made
    with the usual permissions (0666 less the umask; mkstemp's would be 0600)."""
    while True:
        token = "".join(secrets.choice(_TOKEN_CHARACTERS) for _ in range(8))
        tmp = path.parent / f".{path.name}.{token}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that interrupted :func:`save_checkpoint` calls left in
    ``folder`` (only plain files named as it names them) and return them.

    Only safe while no other process may be saving into ``folder``: call it once the run
    directory is held for writing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [
        entry
        for entry in sorted(folder.iterdir())
        if _TEMPORARY.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink()
    ]
    for entry in stale:
        entry.unlink(missing_ok=True)
    return stale


def _leaves(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every tensor and plain value in ``value`` with its path, in the containers' own order
    (which a torch.save / torch.load round trip keeps)."""
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            yield from _leaves(item, f"{where}[{key!r}]")
    elif type(value) in (list, tuple):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{where}[{i}]")
    else:
        yield where, value


def _checksum(state: dict[str, Any]) -> int:
    """CRC-32 of every leaf of ``state``: its path, and a tensor's dtype, shape and bytes or a
    plain value's repr (exact for floats). CRC-32 is the fastest check in the standard library
    (zlib); it guards against corruption, not against someone who rewrites the file."""
    crc = 0
    for where, leaf in _leaves(state, "state"):
        if isinstance(leaf, torch.Tensor):
            crc = zlib.crc32(f"{where} {leaf.dtype} {tuple(leaf.shape)}".encode(), crc)
            raw = leaf.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
            crc = zlib.crc32(raw.numpy(), crc)
        else:
            crc = zlib.crc32(f"{where} {leaf!r}".encode(), crc)
    return crc


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (or a bare reference state dict),
    checking its checksum when it has one."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    _check_zip(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        # torch.load reports corrupt input with many exception types (KeyError, OSError,
        # EOFError, RuntimeError, UnpicklingError, ...); each becomes one clear message.
        raise CheckpointError(f"{path}: {_describe_load_error(e)}") from e
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, expected a dict")
    if CHECKSUM_KEY in state:
        stored = state.pop(CHECKSUM_KEY)
        if not isinstance(stored, dict) or stored.get("crc32") != _checksum(state):
            raise CheckpointError(f"{path}: checksum mismatch: the file is corrupt")
    return state


def _check_zip(path: Path) -> None:
    """Refuse, before torch reads it, a file that is not a torch zip archive: torch would try
    it as a legacy pickle (warning on stderr), and a raw pickle is how code gets into a file."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read it: {e.strerror or e}") from e
    if head.startswith(_ZIP_MAGIC):
        return
    if head.startswith(_PICKLE_PROTO) or _is_small_pickle(head):
        raise CheckpointError(
            f"{path}: refused: not a torch zip checkpoint (a raw pickle could run code)"
        )
    raise CheckpointError(
        f"{path}: not a readable torch checkpoint (not a torch zip archive: another format)"
    )


def _is_small_pickle(head: bytes) -> bool:
    """Whether ``head`` parses as pickle opcodes up to a STOP (a protocol 0 or 1 pickle, which
    has no PROTO opcode to recognise it by). Parsing runs no code."""
    try:
        for _ in pickletools.genops(io.BytesIO(head)):
            pass
    except ValueError:
        return False
    return True


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
