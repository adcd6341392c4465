"""A training step exactly as ``engine.trainer`` runs it, without run directory or events.

Builds what ``engine.session.build_session`` builds (model, optional compiled network, AdamATan2 and
sign-SGD, EMA, a ``Sampler`` with fresh augmentation, HSW weights, staggered first batch) and
steps it: draw puzzles for the halted rows, ``train_step``, EMA update. So a benchmark times the
network *and* everything around it that a real run pays for on the critical path.

Puzzles: the 50 top1465 puzzles bundled in ``puzzles/samples`` (with answers), augmented afresh
each draw: no dataset is generated or downloaded. The content of the puzzles does not change the
cost of a step; only the number of halted rows does (the sampler draws one per halted row).
"""

from __future__ import annotations

import math

import torch

from engine.bench.solver import SAMPLES
from engine.compile import compile_network
from engine.config import RunConfig
from engine.curriculum import Depth, hsw_weights
from engine.data import Sampler, to_tokens
from engine.flops import step_flops
from engine.model import TRM
from engine.optim import EMA, build_optimizers
from engine.precision import autocast
from engine.train_step import StepSettings, TrainState, initial_state, stagger, train_step
from puzzles import csv_format

SAMPLE_PUZZLES = SAMPLES / "top1465-sample.csv"
CPU_STEP_FLOPS = 5e11  # default CPU batch: a full-depth step of at most this many FLOPs


class Rig:
    """The trainer's per-step work on a persistent batch, for timing."""

    def __init__(
        self,
        cfg: RunConfig,
        device: torch.device,
        dtype: torch.dtype | None,
        compiled: bool,
        batch_size: int,
    ) -> None:
        self.cfg, self.device, self.batch_size = cfg, device, batch_size
        torch.manual_seed(cfg.train.seed)
        self.net = TRM(cfg.model).to(device)
        if compiled:
            compile_network(self.net)
        self.optimizers = list(build_optimizers(self.net, cfg.optim).values())
        self.ema = EMA(self.net, cfg.optim.ema)
        sample = csv_format.read_csv(SAMPLE_PUZZLES)
        self.sampler = Sampler(sample.questions, sample.answers, "fresh", 1, cfg.data.seed)
        self.settings = StepSettings.from_config(
            cfg, torch.Generator().manual_seed(cfg.train.seed), lambda: autocast(device, dtype)
        )
        self.hsw = (
            torch.tensor(hsw_weights(cfg.model.n_sup, cfg.curriculum.hsw_lambda), device=device)
            if cfg.curriculum.hsw
            else None
        )
        first = self.sampler.draw(batch_size)
        self.state: TrainState = stagger(
            self.net,
            initial_state(self.net, batch_size, device),
            to_tokens(first.questions, device),
            to_tokens(first.answers, device),
            cfg.model.n_sup,
        )

    def step(self, depth: Depth) -> None:
        """One optimizer step at ``depth``, as the training loop takes it."""
        fresh = self.sampler.draw(int(self.state.halted.sum()))
        result = train_step(
            self.net,
            self.net,  # the forward: the model itself, its network compiled in place if asked
            self.state,
            to_tokens(fresh.questions, self.device),
            to_tokens(fresh.answers, self.device),
            depth,
            self.optimizers,
            self.hsw,
            self.settings,
        )
        self.ema.update(self.net)
        self.state = result.state

    def steps(self, depth: Depth, count: int) -> None:
        """``count`` steps at ``depth``."""
        for _ in range(count):
            self.step(depth)


def default_batch_size(cfg: RunConfig, device: torch.device) -> int:
    """The preset's batch on an accelerator; on CPU the largest power of two up to it whose
    full-depth step costs at most ``CPU_STEP_FLOPS`` (paper preset: 8), so a bench takes minutes."""
    batch = cfg.train.batch_size
    if device.type != "cpu":
        return batch
    m = cfg.model
    per_sample = step_flops(m, m.n_latent, m.n_cycles, 1).total
    fits = max(1, int(CPU_STEP_FLOPS // per_sample))
    return min(batch, 2 ** int(math.log2(fits)))
