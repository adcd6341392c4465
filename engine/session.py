"""A training session: everything the loop in ``engine.trainer`` reads or changes, how it is built
from a run configuration, and how it is saved to and restored from a checkpoint.

Unlike the reference TRM trainer, which saves bare weights, a checkpoint holds the whole state:
weights, EMA, optimizer states, step, every row's carry and puzzle, the sampler's and exploration
generator's states (one entry per data-parallel rank) and the torch RNG, so that ``N`` steps, a
resume and ``M`` more steps equal ``N + M`` uninterrupted steps.

Checkpoint keys: ``config`` (``RunConfig.to_dict()``), ``step``, ``total_steps``, ``model`` (the
raw weights), ``ema`` (``{"decay", "averaged"}``: ``averaged`` is the state dict to use for
inference), ``optimizers`` (``adam``, ``sign``), ``ranks`` (per rank: ``batch``, ``sampler``,
``explore``), ``rng``, ``stage``, ``best_score`` and ``sums`` (metrics since the last log).
"""

from __future__ import annotations

import copy
import math
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from engine import distributed as dist
from engine.checkpoint import load_checkpoint, remove_stale_temporaries, rng_state, set_rng_state
from engine.config import ConfigError, RunConfig
from engine.curriculum import DepthSchedule
from engine.data import DataSplits, Sampler, load_data
from engine.device import describe, resolve_device, should_compile
from engine.evaluate import EvalResult
from engine.model import TRM
from engine.optim import EMA, AdamATan2, SignSGD, build_optimizers
from engine.precision import autocast, resolve_precision
from engine.run_dir import RunPaths, write_checkpoint
from engine.train_step import N_METRICS, StepSettings, TrainState, initial_state


def total_steps_for(cfg: RunConfig, n_train: int) -> int:
    """``max_steps`` if set, else ``ceil(epochs * n_train / batch_size)``."""
    if cfg.train.max_steps > 0:
        return cfg.train.max_steps
    return math.ceil(cfg.train.epochs * n_train / cfg.train.batch_size)


@dataclass
class Session:
    """Everything the training loop reads or changes, in one place."""

    cfg: RunConfig
    paths: RunPaths
    world: dist.World
    device: torch.device
    events: Any
    splits: DataSplits
    net: TRM  # the plain model (weights, carry helpers)
    forward: Callable[..., Any]  # what the step calls: net, compiled and/or DDP-wrapped
    eval_net: TRM  # a copy that receives the EMA weights for evaluation
    adam: AdamATan2
    sign: SignSGD
    ema: EMA
    sampler: Sampler
    settings: StepSettings
    schedule: DepthSchedule
    state: TrainState
    total_steps: int
    eval_every: int
    checkpoint_every: int
    step: int = 0
    stage: int = 0
    in_step: bool = False
    best_score: list[float] = field(default_factory=lambda: [-1.0, -1.0])  # exact, cell accuracy
    last_eval: EvalResult | None = None
    # Sums since the last `train` event: StepResult.metrics, StepResult.losses, steps, seconds.
    metrics: torch.Tensor | None = None
    losses: torch.Tensor | None = None
    n_summed: int = 0
    seconds: float = 0.0


def build_session(
    cfg: RunConfig, paths: RunPaths, world: dist.World, events: Any, resume: bool
) -> Session:
    """Data, model, optimizers and state for a run: fresh, or restored from ``latest.pt``."""
    if cfg.train.batch_size % world.size:
        raise ConfigError(
            f"train.batch_size: {cfg.train.batch_size} does not split over {world.size} processes"
        )
    if world.is_main:  # only rank 0 writes checkpoints
        remove_stale_temporaries(paths.checkpoints)
    device = dist.init_process_group(world, resolve_device(cfg.train.device))
    dtype = resolve_precision(cfg.train.precision, device, "train", "train.precision")
    # Rank 0 loads first, so that a default dataset is generated (and cached) once.
    if not world.is_main:
        dist.barrier(world)
    splits = load_data(cfg.data)
    if world.is_main:
        dist.barrier(world)
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    net = TRM(cfg.model).to(device)
    forward = dist.wrap(net, world)
    if should_compile(cfg.train.compile, device):
        forward = torch.compile(forward)
    adam, sign = build_optimizers(net, cfg.optim)
    total = total_steps_for(cfg, len(splits.train_questions))
    eval_every = cfg.train.eval_every or max(1, math.ceil(total / 10))
    explore = torch.Generator().manual_seed(cfg.train.seed * 1_000_003 + world.rank)
    run = Session(
        cfg=cfg,
        paths=paths,
        world=world,
        device=device,
        events=events,
        splits=splits,
        net=net,
        forward=forward,
        eval_net=copy.deepcopy(net),
        adam=adam,
        sign=sign,
        ema=EMA(net, cfg.optim.ema),
        sampler=Sampler(
            splits.train_questions,
            splits.train_answers,
            cfg.data.augment,
            cfg.data.n_aug,
            cfg.data.seed,
            stream=world.rank,
        ),
        settings=StepSettings.from_config(cfg, explore, lambda: autocast(device, dtype)),
        schedule=DepthSchedule(cfg.curriculum, cfg.model.n_latent, cfg.model.n_cycles),
        state=initial_state(net, cfg.train.batch_size // world.size, device),
        total_steps=total,
        eval_every=eval_every,
        checkpoint_every=cfg.train.checkpoint_every or eval_every,
        metrics=torch.zeros(N_METRICS, device=device),
        losses=torch.zeros(3, device=device),
    )
    if resume:
        restore(run, load_checkpoint(paths.latest))
    events.emit(
        "run_start",
        run.step,
        config=cfg.to_dict(),
        total_steps=total,
        device=describe(device, dtype),
        n_params=net.n_params(),
        world_size=world.size,
        resumed=resume,
        n_train=len(splits.train_questions),
        n_test=len(splits.test_questions),
        data=splits.source,
        pid=os.getpid(),  # with host, lets a reader tell a live run from a stale one
        host=socket.gethostname(),
    )
    return run


def _rank_state(run: Session) -> dict[str, Any]:
    """What differs between ranks: the batch, the sampler and the exploration generator."""
    return {
        "batch": run.state.to_dict(),
        "sampler": run.sampler.state_dict(),
        "explore": run.settings.generator.get_state(),
    }


def save(run: Session, is_best: bool) -> None:
    """Write the whole state to ``step-<N>.pt`` and ``latest.pt`` (and ``best.pt``)."""
    ranks = dist.gather_objects(_rank_state(run), run.world)
    if not run.world.is_main:
        return
    state = {
        "config": run.cfg.to_dict(),
        "step": run.step,
        "total_steps": run.total_steps,
        "model": run.net.state_dict(),
        "ema": run.ema.state_dict(),
        "optimizers": {"adam": run.adam.state_dict(), "sign": run.sign.state_dict()},
        "ranks": ranks,
        "rng": rng_state(),
        "stage": run.stage,
        "best_score": run.best_score,
        "sums": {
            "metrics": run.metrics.cpu(),
            "losses": run.losses.cpu(),
            "n_summed": run.n_summed,
        },
    }
    path = write_checkpoint(run.paths, run.step, state, is_best)
    run.events.emit("checkpoint", run.step, path=str(path), is_best=is_best)


def restore(run: Session, state: dict[str, Any]) -> None:
    """Continue exactly where a checkpoint from ``_save`` left off."""
    if len(state["ranks"]) != run.world.size:
        raise ConfigError(
            f"{run.paths.latest}: saved by {len(state['ranks'])} processes, "
            f"resumed with {run.world.size}; resume with the same number"
        )
    run.net.load_state_dict(state["model"])
    run.ema.load_state_dict(state["ema"])
    run.adam.load_state_dict(state["optimizers"]["adam"])
    run.sign.load_state_dict(state["optimizers"]["sign"])
    mine = state["ranks"][run.world.rank]
    run.state = TrainState.from_dict(mine["batch"], run.device)
    run.sampler.load_state_dict(mine["sampler"])
    run.settings.generator.set_state(mine["explore"])
    set_rng_state(state["rng"])
    run.step, run.stage = int(state["step"]), int(state["stage"])
    run.best_score = [float(v) for v in state["best_score"]]
    run.metrics = state["sums"]["metrics"].to(run.device)
    run.losses = state["sums"]["losses"].to(run.device)
    run.n_summed = int(state["sums"]["n_summed"])
