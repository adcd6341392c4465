"""Symmetry views: the ``K`` rule-preserving shuffles each puzzle is solved as, identity first.

The transforms are ``puzzles.augment``'s (digit relabelling, transpose, band/row and stack/column
permutations). Rows are puzzle-major: row ``i * k + j`` is view ``j`` of puzzle ``i``, so one
puzzle's samples are contiguous and leave the batch together.
"""

from __future__ import annotations

import numpy as np

from engine.solving.inference import SolveResult
from puzzles.augment import Transform, identity, random_transforms


def sample_views(b: int, k: int, rng: np.random.Generator) -> Transform:
    """``b * k`` transforms, puzzle-major: view 0 of every puzzle is the identity."""
    first = identity(b)
    if k == 1:
        return first
    rest = random_transforms(b * (k - 1), rng)
    cells = np.concatenate(
        [first.cells[:, None], rest.cells.reshape(b, k - 1, -1)], axis=1
    ).reshape(b * k, -1)
    digits = np.concatenate(
        [first.digits[:, None], rest.digits.reshape(b, k - 1, -1)], axis=1
    ).reshape(b * k, -1)
    return Transform(cells=cells, digits=digits)


def map_back(result: SolveResult, rows: np.ndarray, transform: Transform) -> SolveResult:
    """The traces of ``rows`` of ``result`` in their original puzzles' cells and digits.

    ``transform`` is the one that made those rows' views (one transform per row of ``rows``).
    Confidence and halting logits belong to a cell or a row, so only cells are moved for them."""
    inverse = transform.inverse()
    s = result.grids.shape[1]

    def cells_and_digits(grids: np.ndarray) -> np.ndarray:  # (r, S, 81)
        flat = grids.transpose(1, 0, 2).reshape(-1, grids.shape[-1])
        repeated = Transform(np.tile(inverse.cells, (s, 1)), np.tile(inverse.digits, (s, 1)))
        return repeated.apply(flat).reshape(s, len(rows), -1).transpose(1, 0, 2)

    def cells_only(values: np.ndarray) -> np.ndarray:  # (r, S, 81)
        index = np.broadcast_to(inverse.cells[:, None, :], values.shape)
        return np.take_along_axis(values, index, axis=2)

    grids = cells_and_digits(result.grids[rows])
    return SolveResult(
        puzzles=inverse.apply(result.puzzles[rows]),
        grids=grids,
        confidence=cells_only(result.confidence[rows]),
        q_halt_logit=result.q_halt_logit[rows],
        halted_at=result.halted_at[rows],
        final=inverse.apply(result.final[rows]),
    )
