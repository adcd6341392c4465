"""Test-time augmentation (TTA): solve K rule-preserving shuffles of each puzzle and vote per cell.

The TRM paper votes over augmented copies of each ARC task; nobody does it on Sudoku. Here each
puzzle is solved as ``K`` views, the identity and ``K - 1`` random symmetries of
``puzzles.augment`` (digit relabelling, transpose, band/row and stack/column permutations), all
``K * B`` in one batched :func:`engine.inference.solve` call. Each view's final answer is mapped
back to the original puzzle's cells and digits, and every cell takes the digit with the largest
summed weight over the views.

Weights (``weight=``): ``"confidence"`` (default), the view's probability of its digit in that
cell, so a view counts where it is sure; or ``"halt"``, the view's halting probability
``sigmoid(q_halt)`` at its final step, one weight per view, so views that believe their whole
answer is right count more. Cell confidence is the default because the halting head of a weak
model is near 0 for every view and would make the vote close to unweighted.

Deterministic given the generator: the same ``rng`` state gives the same views and votes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.inference import SolveResult, solve
from engine.model import TRM
from puzzles.augment import Transform, identity, random_transforms
from puzzles.grid import N_CELLS

WEIGHTS = ("confidence", "halt")


@dataclass
class TTAResult:
    """Voted answers over ``K`` views of each of ``B`` puzzles."""

    grids: np.ndarray  # (B, 81) uint8 the voted answer
    agreement: np.ndarray  # (B,) float32 mean over cells of the winning digit's share of the weight
    view_grids: np.ndarray  # (B, K, 81) uint8 each view's answer mapped back; view 0: identity
    halted_at: np.ndarray  # (B, K) int64 each view's halting step
    plain: SolveResult  # the identity views alone: what solving without TTA gives


def solve_tta(
    model: TRM,
    puzzles: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    weight: str = "confidence",
    n_latent: int | None = None,
    n_cycles: int | None = None,
    max_steps: int | None = None,
    halt: bool = True,
    batch_size: int = 512,
    keep_steps: bool = False,
    precision: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> TTAResult:
    """Solve ``k`` views of every puzzle (identity first) in one batched call and vote per cell."""
    if k < 1:
        raise ValueError(f"k (views per puzzle) must be >= 1, got {k}")
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}, got {weight!r}")
    puzzles = np.asarray(puzzles, dtype=np.uint8)
    b = len(puzzles)
    transform = _views(b, k, rng)
    views = transform.apply(np.tile(puzzles, (k, 1)))  # (k * b, 81), view-major
    result = solve(
        model,
        views,
        n_latent=n_latent,
        n_cycles=n_cycles,
        max_steps=max_steps,
        halt=halt,
        batch_size=batch_size,
        keep_steps=keep_steps,
        precision=precision,
        progress=progress,
    )
    inverse = transform.inverse()
    answers = inverse.apply(result.final).reshape(k, b, N_CELLS)
    # Confidence belongs to a cell, not a digit: only the cell positions are mapped back.
    final_confidence = result.confidence[:, -1]
    confidence = np.take_along_axis(final_confidence, inverse.cells, axis=1).reshape(k, b, N_CELLS)
    last = result.q_halt_logit[:, -1].reshape(k, b)
    if weight == "confidence":
        weights = confidence
    else:
        weights = np.broadcast_to(_sigmoid(last)[:, :, None], (k, b, N_CELLS))
    grids, agreement = _vote(answers, weights)
    return TTAResult(
        grids=grids,
        agreement=agreement,
        view_grids=answers.transpose(1, 0, 2).copy(),
        halted_at=result.halted_at.reshape(k, b).T.copy(),
        plain=_first_view(result, b),
    )


def _views(b: int, k: int, rng: np.random.Generator) -> Transform:
    """``k * b`` transforms, view-major: the identity for the first ``b`` rows, then random ones."""
    first = identity(b)
    if k == 1:
        return first
    rest = random_transforms((k - 1) * b, rng)
    return Transform(
        cells=np.concatenate([first.cells, rest.cells]),
        digits=np.concatenate([first.digits, rest.digits]),
    )


def _vote(answers: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the digit with the largest summed weight over views; and its share of the weight.

    ``answers`` and ``weights`` are (K, B, 81). Returns grids (B, 81) and agreement (B,).
    """
    # A floor keeps a view's vote alive where its weight underflowed (halting probability ~ 0).
    weights = np.maximum(weights.astype(np.float64), np.finfo(np.float64).tiny)
    # totals[b, cell, d]: summed weight of the views that chose digit d there (0 = left empty).
    totals = np.stack([(weights * (answers == d)).sum(0) for d in range(10)], axis=-1)
    grids = totals.argmax(-1).astype(np.uint8)
    share = totals.max(-1) / totals.sum(-1)
    return grids, share.mean(-1).astype(np.float32)


def _first_view(result: SolveResult, b: int) -> SolveResult:
    """The identity views (the first ``b`` rows) as a result of their own."""
    return SolveResult(
        puzzles=result.puzzles[:b],
        grids=result.grids[:b],
        confidence=result.confidence[:b],
        q_halt_logit=result.q_halt_logit[:b],
        halted_at=result.halted_at[:b],
        final=result.final[:b],
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * x.astype(np.float64)))
