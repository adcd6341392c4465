"""Precision: the one rule that turns ``"auto"``, ``"fp32"`` or ``"bf16"`` into an autocast dtype.

Every command and library function that runs the model resolves its precision here, so that
`trm train`, `trm eval`, `trm solve`, the dashboard and ``engine.evaluate`` / ``engine.solving``
called from a script give the same answers for the same model on the same machine. A forced
``"fp32"`` or ``"bf16"`` is always honoured (bf16 on a CPU without bf16 units is emulated: slow,
but it runs); ``"auto"`` depends on what runs (``purpose``) and on the hardware:

| device | ``"infer"`` (eval, solve) | ``"train"`` |
|---|---|---|
| CUDA with bf16 | bf16 | bf16 |
| CPU with AVX512-BF16 or AMX | bf16 | see ``AUTO_TRAINS_BF16_ON_CPU`` |
| any other CPU, MPS, CUDA without bf16 | fp32 | fp32 |

bf16 means autocast: weights and optimizer states stay float32, matmuls run in bf16 (the TRM
reference trains with bf16 weights on CUDA; autocast is the safer half of that).
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal

import torch

from engine.config import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")
Purpose = Literal["train", "infer"]

_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")

# Whether ``"auto"`` trains in bf16 on a CPU that computes it natively (README, "Precision"):
# `trm train --cgar` with the `cpu` preset on a 2-core AMD EPYC with AVX512-BF16 ended at 96% and
# 71% exact in bf16 (seeds 0, 1) vs 76% and 93% in fp32: the same mean within one puzzle, at 2.4x
# the rows per second.
AUTO_TRAINS_BF16_ON_CPU = True


def _cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """CPU feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); else bf16 is emulated, slow."""
    return any(flag in _cpu_flags() for flag in _CPU_BF16_FLAGS)


def has_native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively (CUDA with bf16, or a CPU with AVX512-BF16/AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def resolve_precision(
    name: str, device: torch.device, purpose: Purpose = "infer", field: str = "precision"
) -> torch.dtype | None:
    """The autocast dtype of ``name`` for ``purpose`` on ``device``; None means fp32.

    ``field`` names the setting in errors (``train.precision``, ``--precision``).
    """
    if name == "fp32":
        return None
    if name == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(f"{field}: bf16 is not supported on {device}")
        return torch.bfloat16
    if name != "auto":
        raise ConfigError(f"{field}: unknown precision {name!r} (use auto, fp32 or bf16)")
    if not has_native_bf16(device):
        return None
    if device.type == "cpu" and purpose == "train" and not AUTO_TRAINS_BF16_ON_CPU:
        return None
    return torch.bfloat16


def precision_name(dtype: torch.dtype | None) -> str:
    """``"fp32"`` or ``"bf16"``: how commands print a resolved precision."""
    return (
        "fp32" if dtype is None else str(dtype).removeprefix("torch.").replace("bfloat16", "bf16")
    )


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager[object]:
    """``torch.autocast`` to ``dtype`` on ``device``, or a no-op context for fp32 (None)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
