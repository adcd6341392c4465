"""Failed allocations are told from other errors and said in one line; at start-up they become a
ConfigError naming the settings."""

from __future__ import annotations

import pytest
import torch

from engine.config import ConfigError
from engine.memory import allocating, describe_failure, is_out_of_memory

CPU = torch.device("cpu")


def test_a_failed_torch_allocation_is_out_of_memory() -> None:
    with pytest.raises(RuntimeError) as failed:
        torch.empty(2**62, dtype=torch.bool)
    assert is_out_of_memory(failed.value)
    assert describe_failure(failed.value) == "tried to allocate 4.0 EiB"
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shapes do not match"))


def test_allocating_names_what_was_too_large() -> None:
    with (
        pytest.raises(ConfigError, match=r"^the batch \(b=9\): too large .* 4\.0 EiB\)$"),
        allocating("the batch (b=9)", CPU),
    ):
        torch.empty(2**62, dtype=torch.bool)
    with (
        pytest.raises(ConfigError, match=r"^x: too large .*more elements than torch can index"),
        allocating("x", CPU),
    ):
        torch.empty(2**40, 2**40)


def test_allocating_lets_other_errors_through() -> None:
    with pytest.raises(RuntimeError, match="shapes"), allocating("x", CPU):
        raise RuntimeError("shapes do not match")
