"""The machine's measured matmul peak: FLOP/s of a large square product in fp32 and bf16.

MFU (model FLOP utilisation) is achieved FLOP/s over this peak, measured on the same device
with the same thread count, rather than a datasheet number. The issue asks for a 4096 x 4096
product; on a CPU without native bf16 (no AVX512-BF16 or AMX, see
``engine.precision.cpu_has_bf16``) bf16 is emulated and about eight times slower than fp32, so
the bf16 product there is 1024 x 1024 (``size`` says which size was used).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.bench.timing import Timing, time_call
from engine.precision import has_native_bf16

FULL_SIZE = 4096
SMALL_SIZE = 1024  # emulated bf16 on CPU, and --quick


@dataclass(frozen=True)
class Peak:
    """Measured matmul throughput of one dtype."""

    dtype: str  # "fp32" or "bf16"
    size: int  # the product is (size, size) @ (size, size)
    flops_per_s: float  # 2 * size^3 / median seconds
    timing: Timing
    native: bool  # False where this dtype is emulated (bf16 on a CPU without bf16 units)


def matmul_peak(
    device: torch.device, dtype: str, size: int | None = None, repeats: int = 3
) -> Peak:
    """FLOP/s of ``(size, size) @ (size, size)`` in ``dtype`` on ``device``."""
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    native = dtype == "fp32" or has_native_bf16(device)
    if size is None:
        size = FULL_SIZE if native or device.type != "cpu" else SMALL_SIZE
    generator = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device=device, dtype=torch_dtype)
    b = torch.randn(size, size, generator=generator).to(device=device, dtype=torch_dtype)
    timing = time_call(lambda: a @ b, device, warmup=1, repeats=repeats)
    return Peak(
        dtype=dtype,
        size=size,
        flops_per_s=2 * size**3 / timing.median_s,
        timing=timing,
        native=native,
    )
