"""TRM's training loss for one supervision step: stable-max cross-entropy on the answer plus a
binary cross-entropy that teaches the halting head whether the current answer is exactly right.

Follows the reference loss head: per-row mean cross-entropy over the 81 cells (all cells are
labelled on Sudoku), ``0.5 * BCE(q_halt, row solved)``, summed over rows and divided by the batch
size. CGAR's Hierarchical Supervision Weighting multiplies each row's loss by a weight for that
row's own supervision step (``row_weights``).

Departure: the reference computes stable-max in float64; we use float32, which is exact enough
for 11 classes and much faster on CPUs and GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.model import StepOutput


def _stablemax_s(x: Tensor) -> Tensor:
    """s(x) = x + 1 for x >= 0 and 1 / (1 - x) below: positive, growing only linearly.

    The negative branch is evaluated on ``min(x, 0)``: ``torch.where`` differentiates both
    branches, and at a logit of exactly 1.0 the unclamped ``1 / (1 - x + 1e-30)`` has a gradient
    of 1e60, infinite in float32, which times the zero mask is NaN (the reference's float64 hid it).
    """
    negative = torch.clamp(x, max=0.0)
    return torch.where(x < 0, 1.0 / (1.0 - negative), x + 1.0)


def stablemax_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """Per-position cross-entropy under stable-max, ``-log(s(x_label) / sum s(x))``; float32."""
    s = _stablemax_s(logits.float())
    picked = s.gather(-1, labels.long().unsqueeze(-1)).squeeze(-1)
    return torch.log(s.sum(-1)) - torch.log(picked)


@dataclass
class StepLoss:
    """The loss to backpropagate and what is logged about it."""

    loss: Tensor  # scalar: sum over rows of w_row * (lm_row + halt_weight * bce_row) / B
    lm_loss: Tensor  # scalar: mean over rows of the per-row mean cross-entropy
    halt_loss: Tensor  # scalar: mean halting BCE over rows
    is_correct: Tensor  # (B, 81) bool: argmax equals the label
    seq_is_correct: Tensor  # (B,) bool: all 81 cells right


def step_loss(
    out: StepOutput, labels: Tensor, row_weights: Tensor | None, halt_weight: float
) -> StepLoss:
    """The TRM loss of one supervision step, optionally weighted per row (HSW)."""
    with torch.no_grad():
        is_correct = out.logits.argmax(-1) == labels
        seq_is_correct = is_correct.all(-1)
    lm_row = stablemax_cross_entropy(out.logits, labels).mean(-1)  # (B,)
    halt_row = F.binary_cross_entropy_with_logits(
        out.q_halt, seq_is_correct.float(), reduction="none"
    )
    row = lm_row + halt_weight * halt_row
    if row_weights is not None:
        row = row * row_weights.to(row.dtype)
    return StepLoss(
        loss=row.sum() / row.shape[0],
        lm_loss=lm_row.detach().mean(),
        halt_loss=halt_row.detach().mean(),
        is_correct=is_correct,
        seq_is_correct=seq_is_correct,
    )
