"""Device, precision and compilation choices, resolved once at start-up from the train config.

The TRM reference is CUDA-only (bf16 weights, fused kernels, torch.compile always on). Here the
same code runs on CPU, CUDA and MPS: ``"auto"`` picks CUDA, then MPS, then CPU; bf16 autocast where
the hardware does bf16 natively (CUDA with bf16 support, CPUs with AVX512-BF16 or AMX), fp32
elsewhere; torch.compile only on CUDA, where it pays for its start-up time.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from pathlib import Path

import torch

from engine.config import ConfigError

_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> cuda if available, else mps, else cpu; others are checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"train.device: unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {name!r} requested but CUDA is not available")
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"train.device: {name!r} requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist"
            )
        return torch.device("cuda", index)
    if device.type == "mps" and not _mps_available():
        raise ConfigError(f"train.device: {name!r} requested but MPS is not available")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"train.device: {name!r} is not supported (use cpu, cuda or mps)")
    return device


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


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for ``name`` ("auto", "fp32", "bf16") on ``device``; None means fp32."""
    if name == "fp32":
        return None
    if name == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(f"train.precision: bf16 is not supported on {describe(device)}")
        return torch.bfloat16
    if name != "auto":
        raise ConfigError(f"train.precision: unknown precision {name!r} (use auto, fp32 or bf16)")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_bf16() else None
    return None


def autocast(device: torch.device, dtype: torch.dtype | None) -> AbstractContextManager[object]:
    """``torch.autocast`` to ``dtype`` on ``device``, or a no-op context for fp32 (None)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def should_compile(name: str, device: torch.device) -> bool:
    """Whether to torch.compile: "on", "off", or "auto" (on CUDA only)."""
    if name == "on":
        return True
    if name == "off":
        return False
    if name == "auto":
        return device.type == "cuda"
    raise ConfigError(f"train.compile: unknown value {name!r} (use auto, on or off)")


def describe(device: torch.device, dtype: torch.dtype | None = None) -> str:
    """Human-readable device and precision, e.g. ``"cpu (2 threads, fp32)"``."""
    precision = (
        "fp32" if dtype is None else str(dtype).removeprefix("torch.").replace("bfloat16", "bf16")
    )
    if device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        return f"{torch.cuda.get_device_name(index)} (cuda:{index}, {precision})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads, {precision})"
    return f"{device.type} ({precision})"
