"""One optimizer step of TRM training, the maths only: refill, forward, loss, backward, update.

Follows the reference TRM trainer (its ACT wrapper and loss head): one step advances every row
of the batch by one supervision step. Rows that halted at the previous step take new puzzles and
a reset carry; the others keep theirs. After the forward, a row halts when it reached ``N_sup``
steps or its halting logit is positive, except that with probability ``halt_exploration`` a row
gets a random minimum of 2..N_sup steps before it may halt. CGAR's HSW (Qasim and Zhang, 2025)
weights each row's loss by the weight of that row's own supervision step.

Departure from the reference, on by default (``train.stagger_start``): the reference fills every
row at the first step, so all rows sit at the same supervision step and halt together at
``N_sup`` until the halting head learns to fire; a whole batch then moves in lockstep through
steps 1..16. :func:`stagger` instead starts row ``i`` of the first batch at step ``i mod N_sup``
(its first puzzle simply gets fewer steps), so every batch mixes all supervision steps, as it
does in the reference's steady state. Without it, HSW scales the loss of whole batches by its
per-step weight (a factor of ~150 between steps 1 and 16), which stalls early training.

The loop in ``engine.trainer`` does scheduling and logging, and draws the new puzzles (one per
halted row); nothing here calls ``.item()`` or otherwise waits for the device.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from engine.config import RunConfig
from engine.curriculum import Depth, row_weights
from engine.losses import step_loss
from engine.model import TRM, Carry, StepOutput

N_METRICS = 5  # count, cell accuracy, exact, halt accuracy, steps: see StepResult.metrics


@dataclass
class TrainState:
    """The persistent batch: each row's carry, step count, halted flag and current puzzle."""

    carry: Carry
    steps: Tensor  # (B,) int32: supervision steps done on the row's current puzzle
    halted: Tensor  # (B,) bool: the row takes a new puzzle at the next step
    tokens: Tensor  # (B, 81) long: the row's puzzle, token ids (digit + 1)
    labels: Tensor  # (B, 81) long: its solution, token ids
    puzzle_ids: Tensor  # (B,) long: puzzle-embedding row (Sudoku: one shared id, 0)

    def to_dict(self) -> dict[str, Tensor]:
        """CPU tensors, for a checkpoint."""
        return {
            "y": self.carry.y.cpu(),
            "z": self.carry.z.cpu(),
            "steps": self.steps.cpu(),
            "halted": self.halted.cpu(),
            "tokens": self.tokens.cpu(),
            "labels": self.labels.cpu(),
            "puzzle_ids": self.puzzle_ids.cpu(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Tensor], device: torch.device) -> TrainState:
        """Inverse of :meth:`to_dict`, onto ``device``."""
        return cls(
            carry=Carry(y=state["y"].to(device), z=state["z"].to(device)),
            steps=state["steps"].to(device),
            halted=state["halted"].to(device),
            tokens=state["tokens"].to(device),
            labels=state["labels"].to(device),
            puzzle_ids=state["puzzle_ids"].to(device),
        )


@dataclass
class StepSettings:
    """What a step needs besides the state: halting, loss weights, randomness, precision."""

    n_sup: int  # N_sup: a row halts at this many steps at the latest
    halt_exploration: float  # probability of a random minimum halting step in 2..N_sup
    halt_loss_weight: float  # weight of the halting BCE (0.5)
    generator: torch.Generator  # CPU generator for exploration, so resume is exact on any device
    autocast: Callable[[], AbstractContextManager]  # forward and loss run inside this

    @classmethod
    def from_config(
        cls,
        cfg: RunConfig,
        generator: torch.Generator,
        autocast: Callable[[], AbstractContextManager],
    ) -> StepSettings:
        """The settings a run's configuration gives, with its exploration generator and autocast."""
        return cls(
            n_sup=cfg.model.n_sup,
            halt_exploration=cfg.train.halt_exploration,
            halt_loss_weight=cfg.train.halt_loss_weight,
            generator=generator,
            autocast=autocast,
        )


@dataclass
class StepResult:
    """What one step returns: the new state and detached tensors for logging."""

    state: TrainState
    losses: Tensor  # (3,) float32: [loss backpropagated, mean cross-entropy, mean halting BCE]
    metrics: Tensor  # (N_METRICS,) float32 sums over the rows that halted this step:
    # [count, cell accuracy, exactly solved, halt head right, steps at halting]


def initial_state(model: TRM, batch_size: int, device: torch.device) -> TrainState:
    """A batch in which every row is halted, so the first step fills all of them."""
    cells = model.cfg.seq_len
    return TrainState(
        carry=model.initial_carry(batch_size),
        steps=torch.zeros(batch_size, dtype=torch.int32, device=device),
        halted=torch.ones(batch_size, dtype=torch.bool, device=device),
        tokens=torch.ones(batch_size, cells, dtype=torch.long, device=device),
        labels=torch.ones(batch_size, cells, dtype=torch.long, device=device),
        puzzle_ids=torch.zeros(batch_size, dtype=torch.long, device=device),
    )


def refill(model: TRM, state: TrainState, tokens: Tensor, labels: Tensor) -> TrainState:
    """Halted rows (in row order) take the new puzzles ``tokens``/``labels`` (k, 81) and a reset
    carry."""
    rows = state.halted.nonzero().squeeze(-1)
    new_tokens, new_labels = state.tokens.clone(), state.labels.clone()
    new_tokens[rows] = tokens
    new_labels[rows] = labels
    return replace(
        state,
        carry=model.reset_carry(state.carry, state.halted),
        steps=torch.where(state.halted, torch.zeros_like(state.steps), state.steps),
        tokens=new_tokens,
        labels=new_labels,
        halted=torch.zeros_like(state.halted),
    )


def stagger(
    model: TRM, state: TrainState, tokens: Tensor, labels: Tensor, n_sup: int
) -> TrainState:
    """Fill every row and start row ``i`` at supervision step ``i mod N_sup``."""
    state = refill(model, state, tokens, labels)
    offsets = torch.arange(state.steps.shape[0], device=state.steps.device) % n_sup
    return replace(state, steps=offsets.to(state.steps.dtype))


def halting(steps: Tensor, q_halt: Tensor, settings: StepSettings) -> Tensor:
    """Training-time halting: ``N_sup`` reached or ``q_halt > 0``, held back by exploration."""
    batch = steps.shape[0]
    halted = (steps >= settings.n_sup) | (q_halt > 0)
    explore = torch.rand(batch, generator=settings.generator) < settings.halt_exploration
    min_steps = torch.randint(2, settings.n_sup + 1, (batch,), generator=settings.generator)
    min_halt = (explore * min_steps).to(steps.device)
    if settings.n_sup > 1:
        halted = halted & (steps >= min_halt)
    return halted


def train_step(
    model: TRM,
    forward: Callable[..., StepOutput],
    state: TrainState,
    tokens: Tensor,
    labels: Tensor,
    depth: Depth,
    optimizers: list[torch.optim.Optimizer],
    hsw: Tensor | None,
    settings: StepSettings,
) -> StepResult:
    """Refill halted rows with ``tokens``/``labels``, run one supervision step, update the weights.

    ``forward`` is the model's forward as the loop runs it (plain, compiled or DDP-wrapped);
    ``hsw`` holds the HSW weights ``w_t`` (t = 1..N_sup; ``row_weights`` scales them by N_sup), or
    None when HSW is off.
    """
    state = refill(model, state, tokens, labels)
    with settings.autocast():
        out = forward(state.carry, state.tokens, state.puzzle_ids, depth.n, depth.T)
        steps = state.steps + 1
        weights = row_weights(steps, hsw) if hsw is not None else None
        losses = step_loss(out, state.labels, weights, settings.halt_loss_weight)
    losses.loss.backward()
    for opt in optimizers:
        opt.step()
        opt.zero_grad(set_to_none=True)

    with torch.no_grad():
        halted = halting(steps, out.q_halt, settings)
        h = halted.float()
        metrics = torch.stack(
            [
                h.sum(),
                (h * losses.is_correct.float().mean(-1)).sum(),
                (h * losses.seq_is_correct.float()).sum(),
                (h * ((out.q_halt >= 0) == losses.seq_is_correct).float()).sum(),
                (h * steps.float()).sum(),
            ]
        )
        logged = torch.stack(
            [losses.loss.float(), losses.lm_loss.float(), losses.halt_loss.float()]
        )
    new_state = replace(state, carry=out.carry, steps=steps, halted=halted)
    return StepResult(
        state=new_state,
        losses=logged.detach(),
        metrics=metrics,
    )
