"""Telling an allocation that failed from other errors, and saying it in one line.

Torch reports a failed CPU allocation as a ``RuntimeError`` ("DefaultCPUAllocator: can't allocate
memory: you tried to allocate N bytes") and a failed CUDA one as ``torch.OutOfMemoryError``;
numpy raises ``MemoryError``. A size beyond what can be indexed at all fails earlier, in size
arithmetic ("Storage size calculation overflowed", "numel: integer multiplication overflow",
"Overflow when unpacking long", numpy's "array is too big"). A size that cannot be allocated at
start-up is a bad setting (:func:`allocating`, used by ``engine.session``, names the settings);
running out of memory later ends the run as ``failed`` (``engine.trainer``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from engine.config import ConfigError

_OUT_OF_MEMORY = ("can't allocate memory", "not enough memory", "out of memory")
_UNINDEXABLE = (
    "Storage size calculation overflowed",
    "integer multiplication overflow",
    "Overflow when unpacking long",
    "array is too big",
)
_BYTES = re.compile(r"allocate (\d+) bytes")
_SIZE = re.compile(r"(?:[Tt]ried|Unable) to allocate ([\d.]+ ?[KMGTPE]?i?B)")


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation that failed for want of memory."""
    if isinstance(error, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(error, RuntimeError) and any(m in str(error) for m in _OUT_OF_MEMORY)


def _is_unindexable(error: BaseException) -> bool:
    """Whether ``error`` is a size too large for torch or numpy to even compute."""
    kinds = (RuntimeError, ValueError, TypeError)
    return isinstance(error, kinds) and any(m in str(error) for m in _UNINDEXABLE)


def describe_failure(error: BaseException) -> str:
    """``tried to allocate 1.9 PiB`` when the message says how much, else what it says."""
    text = str(error)
    found = _BYTES.search(text)
    if found:
        return f"tried to allocate {_human(int(found.group(1)))}"
    found = _SIZE.search(text)
    if found:
        return f"tried to allocate {found.group(1)}"
    if _is_unindexable(error):
        return "more elements than torch can index"
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


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
    except (RuntimeError, ValueError, TypeError, MemoryError) as e:
        if not (is_out_of_memory(e) or _is_unindexable(e)):
            raise
        raise ConfigError(
            f"{what}: too large to allocate on {device} ({describe_failure(e)})"
        ) from None
