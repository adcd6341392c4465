"""Telling an allocation that failed from other errors, and saying it in one line.

Torch reports a failed CPU allocation as a ``RuntimeError`` ("DefaultCPUAllocator: can't allocate
memory: you tried to allocate N bytes"), a failed CUDA one as ``torch.OutOfMemoryError``, and a
size beyond what it can index as "Storage size calculation overflowed"; numpy raises
``MemoryError``, or ``ValueError`` ("array is too big") past what it can address. A size that
cannot be allocated at start-up is a bad setting (``engine.session`` names the fields); one that
fails later ends the run as ``failed``, "out of memory" (``engine.trainer``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from engine.config import ConfigError

_MARKS = (
    "can't allocate memory",
    "not enough memory",
    "out of memory",
    "Storage size calculation overflowed",
    "array is too big",
)
_BYTES = re.compile(r"allocate (\d+) bytes")
_SIZE = re.compile(r"[Tt]ried to allocate ([\d.]+ [KMGTPE]?i?B)")


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation that failed (or a size no allocator can hold)."""
    if isinstance(error, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(error, (RuntimeError, ValueError)) and any(m in str(error) for m in _MARKS)


def describe_failure(error: BaseException) -> str:
    """``tried to allocate 1.9 PiB`` when the message says how much, else its first line."""
    text = str(error)
    found = _BYTES.search(text)
    if found:
        return f"tried to allocate {_human(int(found.group(1)))}"
    found = _SIZE.search(text)
    if found:
        return f"tried to allocate {found.group(1)}"
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first[:200]


def _human(n_bytes: int) -> str:
    """``4.0 EiB`` for 2**62 bytes."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    size, index = float(n_bytes), 0
    while size >= 1024 and index < len(units) - 1:
        size, index = size / 1024, index + 1
    return f"{size:.1f} {units[index]}"


@contextmanager
def allocating(what: str, device: torch.device) -> Iterator[None]:
    """Turn a failed allocation inside the block into a :class:`ConfigError` naming ``what``."""
    try:
        yield
    except (RuntimeError, ValueError, MemoryError) as e:
        if not is_out_of_memory(e):
            raise
        raise ConfigError(
            f"{what}: too large to allocate on {device} ({describe_failure(e)})"
        ) from None
