"""Analytic FLOP count of one TRM training step, for MFU and for CGAR's ideal saving.

What is counted: matrix products only, ``2 * m * n * k`` FLOPs for an ``(m, k) @ (k, n)``
product (a multiply and an add per term). Per network application on a ``(B, L, d)`` state
(``L = puzzle_emb_len + 81``), each of the ``n_layers`` blocks costs

- token mixer, ``mlp``: a SwiGLU across positions with inner width ``f_L =
  swiglu_width(L, expansion)``: ``2*B*d*L*2f_L`` (gate and up) + ``2*B*d*f_L*L`` (down);
- token mixer, ``attention``: ``2*B*L*d*3d`` (q, k, v) + ``2*B*L*L*d`` (scores) +
  ``2*B*L*L*d`` (weights times values) + ``2*B*L*d*d`` (output);
- channel SwiGLU with ``f = swiglu_width(d, expansion)``: ``2*B*L*d*2f`` + ``2*B*L*f*d``.

One training step at depth ``(n, T)`` (``engine.model.TRM.forward``) runs ``T`` cycles of
``n + 1`` network applications forward, then the heads once: ``lm_head`` on the 81 cells
(``2*B*81*d*vocab``) and ``q_head`` on position 0 (``2*B*d*2``). Only the last cycle and the
heads carry gradient; their backward is counted as twice their forward (gradients with respect
to inputs and to weights, one product each), the usual convention.

Not counted: embeddings (lookups), the injection additions, RMSNorm, SiLU, RoPE, softmax, the
loss and the optimizer. They are element-wise, a few percent of the products at the paper's
width, and what a matmul-peak MFU should not credit. The same rule as the reference MFU
estimates of transformer trainers (e.g. the PaLM appendix's ``6 * params`` per token, here
written out exactly because recursion reuses the parameters many times per step).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import ModelConfig, Stage
from engine.layers import swiglu_width


def block_flops(cfg: ModelConfig, batch: int) -> int:
    """Forward FLOPs of one block (token mixer + channel SwiGLU) on ``batch`` rows."""
    b, length, d = batch, cfg.total_len, cfg.d
    if cfg.mixer == "mlp":
        f_len = swiglu_width(length, cfg.expansion)
        mixer = 2 * b * d * length * 2 * f_len + 2 * b * d * f_len * length
    else:
        mixer = (
            2 * b * length * d * 3 * d + 2 * 2 * b * length * length * d + 2 * b * length * d * d
        )
    f = swiglu_width(d, cfg.expansion)
    return mixer + 2 * b * length * d * 2 * f + 2 * b * length * f * d


def network_flops(cfg: ModelConfig, batch: int) -> int:
    """Forward FLOPs of one application of the shared network (``n_layers`` blocks)."""
    return cfg.n_layers * block_flops(cfg, batch)


def head_flops(cfg: ModelConfig, batch: int) -> int:
    """Forward FLOPs of the answer head on the 81 cells and the halting head on position 0."""
    return 2 * batch * cfg.seq_len * cfg.d * cfg.vocab_size + 2 * batch * cfg.d * 2


@dataclass(frozen=True)
class StepFlops:
    """FLOPs of one training step at depth ``(n, T)`` on ``batch`` rows."""

    n: int
    T: int
    batch: int
    forward: int  # all T cycles and the heads
    backward: int  # 2x the forward of the last cycle and the heads

    @property
    def total(self) -> int:
        """Forward plus backward."""
        return self.forward + self.backward

    @property
    def per_sample(self) -> float:
        """Total FLOPs per row (one row advanced by one supervision step)."""
        return self.total / self.batch


def step_flops(cfg: ModelConfig, n: int, T: int, batch: int) -> StepFlops:
    """FLOPs of one training step: forward of all ``T`` cycles, backward of the last (as 2x)."""
    net = network_flops(cfg, batch)
    heads = head_flops(cfg, batch)
    last_cycle = (n + 1) * net + heads
    return StepFlops(
        n=n, T=T, batch=batch, forward=T * (n + 1) * net + heads, backward=2 * last_cycle
    )


def eval_step_flops(cfg: ModelConfig, n: int, T: int, batch: int) -> int:
    """FLOPs of one inference supervision step (forward only) at depth ``(n, T)``."""
    return T * (n + 1) * network_flops(cfg, batch) + head_flops(cfg, batch)


@dataclass(frozen=True)
class CurriculumSaving:
    """FLOP-count ideal of the depth curriculum vs fixed full depth over a whole run."""

    forward_ratio: float  # fixed-depth forward FLOPs / curriculum forward FLOPs
    total_ratio: float  # the same for forward + backward


def curriculum_saving(
    cfg: ModelConfig, stages: tuple[Stage, ...], n_steps: int, batch: int
) -> CurriculumSaving:
    """Ideal speed-up of ``stages`` over ``n_steps`` steps vs full depth, from the FLOP count.

    Each step's depth is the stage whose ``until_rho`` first exceeds ``step / n_steps``, exactly
    as ``engine.curriculum.DepthSchedule.at`` picks it, so short runs get the same rounding.
    """
    full = step_flops(cfg, cfg.n_latent, cfg.n_cycles, batch)
    forward = total = 0
    for step in range(n_steps):
        rho = step / max(1, n_steps)
        stage = next((s for s in stages if rho < s.until_rho), stages[-1])
        cost = step_flops(cfg, stage.n, stage.T, batch)
        forward += cost.forward
        total += cost.total
    return CurriculumSaving(
        forward_ratio=n_steps * full.forward / forward, total_ratio=n_steps * full.total / total
    )
