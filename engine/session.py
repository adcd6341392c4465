"""A training session: everything the loop in ``engine.trainer`` reads or changes, how it is built
from a run configuration, and how it is saved to and restored from a checkpoint.

Unlike the reference TRM trainer, which saves bare weights, a checkpoint holds the whole state:
weights, EMA, optimizer states, step, every row's carry and puzzle, the sampler's and exploration
generator's states (one entry per data-parallel rank) and the torch RNG, so that ``N`` steps, a
resume and ``M`` more steps equal ``N + M`` uninterrupted steps.

Checkpoint keys: ``config`` (``RunConfig.to_dict()``), ``step``, ``total_steps``, ``model`` (the
raw weights), ``ema`` (``{"decay", "averaged"}``: ``averaged`` is the state dict to use for
inference), ``optimizers`` (``adam``, ``sign``, with Muon ``muon``), ``ranks`` (per rank:
``batch``, ``sampler``, ``explore``), ``rng``, ``stage``, ``best_score`` and ``sums`` (metrics
since the last log).

Building a session reads and checks everything a run needs (device, precision, data, the
checkpoint to resume) and allocates the model and the batch, but writes nothing: whatever is
wrong with a start is found before a run directory is made or an event written. A size that
cannot be allocated is a :class:`ConfigError` naming the settings. A checkpoint is written only
of finite weights (:class:`NonFiniteWeights` otherwise), so ``latest.pt`` is always usable.
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
from engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    rng_state,
    set_rng_state,
)
from engine.compile import CompileChoice, choose_compile, compile_network
from engine.config import ConfigError, RunConfig
from engine.curriculum import DepthSchedule
from engine.data import DataSplits, Sampler, load_data
from engine.device import describe, resolve_device
from engine.evaluate import EvalResult
from engine.memory import allocating
from engine.model import TRM
from engine.optim import EMA, build_optimizers
from engine.precision import autocast, resolve_precision
from engine.run_dir import RunPaths, write_checkpoint
from engine.train_step import N_METRICS, StepSettings, TrainState, initial_state


def total_steps_for(cfg: RunConfig, n_train: int) -> int:
    """``max_steps`` if set, else ``ceil(epochs * n_train / batch_size)``."""
    if cfg.train.max_steps > 0:
        return cfg.train.max_steps
    return math.ceil(cfg.train.epochs * n_train / cfg.train.batch_size)


def eval_every_for(cfg: RunConfig, total_steps: int) -> int:
    """Steps between in-run evaluations: ``train.eval_every``, or ten per run when it is 0. The
    trainer also evaluates at the last step."""
    return cfg.train.eval_every or max(1, math.ceil(total_steps / 10))


class NonFiniteWeights(Exception):
    """The model or EMA weights hold inf or nan: saving them would bury the last good checkpoint."""


@dataclass
class Session:
    """Everything the training loop reads or changes, in one place."""

    cfg: RunConfig
    paths: RunPaths
    world: dist.World
    device: torch.device
    precision: torch.dtype | None  # autocast dtype; None = fp32
    splits: DataSplits
    net: TRM  # the plain model (weights, carry helpers)
    forward: Callable[..., Any]  # what the step calls: net (its network maybe compiled), or DDP
    compiled: CompileChoice  # whether net's network is compiled, and why
    eval_net: TRM  # a copy that receives the EMA weights for evaluation
    optimizers: dict[str, torch.optim.Optimizer]  # by name: adam, sign (and muon)
    ema: EMA
    sampler: Sampler
    settings: StepSettings
    schedule: DepthSchedule
    state: TrainState
    total_steps: int
    eval_every: int
    checkpoint_every: int
    resumed: bool = False
    events: Any = None  # the sink, set when the run starts (engine.trainer)
    step: int = 0
    saved_step: int | None = None  # the step of the last checkpoint written or resumed from
    stage: int = 0
    in_step: bool = False
    best_score: list[float] = field(default_factory=lambda: [-1.0, -1.0])  # exact, cell accuracy
    last_eval: EvalResult | None = None
    # Sums since the last `train` event: StepResult.metrics, StepResult.losses, steps, seconds.
    metrics: torch.Tensor | None = None
    losses: torch.Tensor | None = None
    n_summed: int = 0
    seconds: float = 0.0


def build_session(cfg: RunConfig, paths: RunPaths, world: dist.World, resume: bool) -> Session:
    """Data, model, optimizers and state for a run: fresh, or restored from ``latest.pt``.

    Writes nothing; raises ``ConfigError``, ``DataError`` or ``CheckpointError`` for bad input.
    """
    if cfg.train.batch_size % world.size:
        raise ConfigError(
            f"train.batch_size: {cfg.train.batch_size} does not split over {world.size} processes"
        )
    device = dist.init_process_group(world, resolve_device(cfg.train.device))
    dtype = resolve_precision(cfg.train.precision, device, "train", "train.precision")
    # Rank 0 loads first, so that a default dataset is generated (and cached) once.
    if not world.is_main:
        dist.barrier(world)
    splits = load_data(cfg.data)
    if world.is_main:
        dist.barrier(world)
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    m = cfg.model
    with allocating(
        f"the model (model.d={m.d}, model.expansion={m.expansion}, model.n_layers={m.n_layers}, "
        f"model.n_puzzle_ids={m.n_puzzle_ids}, model.puzzle_emb_len={m.puzzle_emb_len})",
        device,
    ):
        net = TRM(cfg.model).to(device)
        eval_net = copy.deepcopy(net)
        ema = EMA(net, cfg.optim.ema)
    with allocating(f"the batch (train.batch_size={cfg.train.batch_size})", device):
        state = initial_state(net, cfg.train.batch_size // world.size, device)
    with allocating(f"the augmented data (data.n_aug={cfg.data.n_aug})", device):
        sampler = Sampler(
            splits.train_questions,
            splits.train_answers,
            cfg.data.augment,
            cfg.data.n_aug,
            cfg.data.seed,
            stream=world.rank,
        )
    total = total_steps_for(cfg, len(splits.train_questions))
    compiled = choose_compile(cfg.train.compile, device, total)
    if compiled.on:
        compile_network(net)
    forward = dist.wrap(net, world)
    optimizers = build_optimizers(net, cfg.optim)
    eval_every = eval_every_for(cfg, total)
    explore = torch.Generator().manual_seed(cfg.train.seed * 1_000_003 + world.rank)
    run = Session(
        cfg=cfg,
        paths=paths,
        world=world,
        device=device,
        precision=dtype,
        splits=splits,
        net=net,
        forward=forward,
        compiled=compiled,
        eval_net=eval_net,
        optimizers=optimizers,
        ema=ema,
        sampler=sampler,
        settings=StepSettings.from_config(cfg, explore, lambda: autocast(device, dtype)),
        schedule=DepthSchedule(cfg.curriculum, cfg.model.n_latent, cfg.model.n_cycles),
        state=state,
        total_steps=total,
        eval_every=eval_every,
        checkpoint_every=cfg.train.checkpoint_every or eval_every,
        metrics=torch.zeros(N_METRICS, device=device),
        losses=torch.zeros(3, device=device),
        resumed=resume,
    )
    if resume:
        _resume(run)
    return run


def _resume(run: Session) -> None:
    """Restore ``latest.pt``; a file that is not a usable training checkpoint is a
    CheckpointError."""
    path = run.paths.latest
    state = load_checkpoint(path)
    try:
        restore(run, state)
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        detail = f"missing {e}" if isinstance(e, KeyError) else " ".join(str(e).split())[:200]
        raise CheckpointError(
            f"{path}: not a training checkpoint this run can resume ({detail})"
        ) from None
    if not weights_are_finite(run):
        raise CheckpointError(
            f"{path}: holds non-finite weights; resume from an earlier checkpoint (step-<N>.pt)"
        )


def announce(run: Session) -> None:
    """The ``run_start`` event."""
    run.events.emit(
        "run_start",
        run.step,
        config=run.cfg.to_dict(),
        total_steps=run.total_steps,
        device=describe(run.device, run.precision),
        compile={"on": run.compiled.on, "why": run.compiled.why},
        n_params=run.net.n_params(),
        world_size=run.world.size,
        resumed=run.resumed,
        n_train=len(run.splits.train_questions),
        n_test=len(run.splits.test_questions),
        data=run.splits.source,
        pid=os.getpid(),  # with host, lets a reader tell a live run from a stale one
        host=socket.gethostname(),
    )


def _rank_state(run: Session) -> dict[str, Any]:
    """What differs between ranks: the batch, the sampler and the exploration generator."""
    return {
        "batch": run.state.to_dict(),
        "sampler": run.sampler.state_dict(),
        "explore": run.settings.generator.get_state(),
    }


def weights_are_finite(run: Session) -> bool:
    """Whether every floating-point model and EMA weight is finite (one device sync)."""
    tensors = [*run.net.state_dict().values(), *run.ema.averaged().values()]
    checks = [torch.isfinite(t).all() for t in tensors if t.is_floating_point()]
    return bool(torch.stack(checks).all())


def save(run: Session, is_best: bool) -> None:
    """Write the whole state to ``step-<N>.pt`` and ``latest.pt`` (and ``best.pt``).

    Raises :class:`NonFiniteWeights`, writing nothing, when the weights are not finite.
    """
    # Every rank takes the same branch: the gather below is a collective.
    (broken,) = dist.any_rank([not weights_are_finite(run)], run.world)
    if broken:
        raise NonFiniteWeights(f"the weights became non-finite at step {run.step}")
    ranks = dist.gather_objects(_rank_state(run), run.world)
    if not run.world.is_main:
        return
    state = {
        "config": run.cfg.to_dict(),
        "step": run.step,
        "total_steps": run.total_steps,
        "model": run.net.state_dict(),
        "ema": run.ema.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in run.optimizers.items()},
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
    run.saved_step = run.step
    run.events.emit("checkpoint", run.step, path=str(path), is_best=is_best)


def restore(run: Session, state: dict[str, Any]) -> None:
    """Continue exactly where a checkpoint from :func:`save` left off."""
    if len(state["ranks"]) != run.world.size:
        raise ConfigError(
            f"{run.paths.latest}: saved by {len(state['ranks'])} processes, "
            f"resumed with {run.world.size}; resume with the same number"
        )
    run.net.load_state_dict(state["model"])
    run.ema.load_state_dict(state["ema"])
    for name, opt in run.optimizers.items():
        opt.load_state_dict(state["optimizers"][name])
    mine = state["ranks"][run.world.rank]
    run.state = TrainState.from_dict(mine["batch"], run.device)
    run.sampler.load_state_dict(mine["sampler"])
    run.settings.generator.set_state(mine["explore"])
    set_rng_state(state["rng"])
    run.step, run.stage = int(state["step"]), int(state["stage"])
    run.saved_step = run.step
    run.best_score = [float(v) for v in state["best_score"]]
    run.metrics = state["sums"]["metrics"].to(run.device)
    run.losses = state["sums"]["losses"].to(run.device)
    run.n_summed = int(state["sums"]["n_summed"])
