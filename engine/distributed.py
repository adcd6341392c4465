"""Data-parallel training across processes (``torchrun --nproc-per-node K -m engine.trainer ...``).

Each rank runs the same loop on its share of the global batch with its own sampler stream; the
model is wrapped in ``DistributedDataParallel`` so gradients are averaged. Since every rank's loss
is its row sum divided by its own batch, the average equals the reference's
``sum over the global batch / global batch size``. Rank 0 alone writes events and checkpoints;
the per-rank state (carry, sampler, exploration generator) is gathered into the checkpoint so
a resumed run with the same number of processes continues exactly.

Process groups use NCCL on CUDA and Gloo on CPU. Without ``WORLD_SIZE`` > 1 in the environment
everything here is a no-op for a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: writes events and checkpoints."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        """More than one process."""
        return self.size > 1


def world_from_env() -> World:
    """The world torchrun describes in ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (1 process if
    unset)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(
        rank=int(os.environ["RANK"]),
        size=size,
        local_rank=int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
    )


def init_process_group(world: World, device: torch.device) -> torch.device:
    """Join the process group (NCCL on CUDA, Gloo otherwise); return this rank's device."""
    if not world.is_distributed:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size)
    return device


def shutdown(world: World) -> None:
    """Leave the process group."""
    if world.is_distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, world: World) -> nn.Module:
    """``DistributedDataParallel`` around ``model`` when there are several processes."""
    if not world.is_distributed:
        return model
    return nn.parallel.DistributedDataParallel(model)


def all_reduce_sum(tensor: Tensor, world: World) -> Tensor:
    """Sum of ``tensor`` over all ranks (the tensor itself with one process)."""
    if world.is_distributed:
        tensor = tensor.clone()
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_max(value: float, world: World) -> float:
    """Maximum of a float over all ranks."""
    if not world.is_distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda(torch.cuda.current_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return float(tensor.item())


def any_rank(flags: list[bool], world: World) -> list[bool]:
    """For each flag, whether it is true on any rank (one collective for all of them)."""
    if not world.is_distributed:
        return flags
    tensor = torch.tensor(flags, dtype=torch.float32)
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda(torch.cuda.current_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [bool(v) for v in tensor.tolist()]


def gather_objects(obj: Any, world: World) -> list[Any]:
    """``obj`` of every rank, in rank order, on every rank (CPU tensors and plain data)."""
    if not world.is_distributed:
        return [obj]
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(world: World) -> None:
    """Wait for every rank."""
    if world.is_distributed:
        dist.barrier()
