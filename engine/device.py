"""The device, resolved once at start-up (precision: ``engine.precision``; compile:
``engine.compile``).

The TRM reference is CUDA-only (bf16 weights, fused kernels, torch.compile always on). Here the
same code runs on CPU, CUDA and MPS: ``"auto"`` picks CUDA, then MPS, then CPU. Whether to
torch.compile is ``engine.compile``'s decision.
"""

from __future__ import annotations

import torch

from engine.config import ConfigError
from engine.precision import precision_name


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str, field: str = "train.device") -> torch.device:
    """``"auto"`` -> cuda if available, else mps, else cpu; others are checked to exist.

    ``field`` names the setting in errors (``train.device``, or a command's ``--device``).
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"{field}: unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"{field}: {name!r} requested but CUDA is not available")
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"{field}: {name!r} requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist"
            )
        return torch.device("cuda", index)
    if device.type == "mps" and not _mps_available():
        raise ConfigError(f"{field}: {name!r} requested but MPS is not available")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"{field}: {name!r} is not supported (use cpu, cuda or mps)")
    return device


def describe(device: torch.device, dtype: torch.dtype | None = None) -> str:
    """Human-readable device and precision, e.g. ``"cpu (2 threads, fp32)"``."""
    precision = precision_name(dtype)
    if device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        return f"{torch.cuda.get_device_name(index)} (cuda:{index}, {precision})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads, {precision})"
    return f"{device.type} ({precision})"
