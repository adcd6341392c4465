"""The cell vote over a puzzle's samples (``--select vote``): each cell takes the digit with the
largest summed confidence over the samples, every answer first mapped back to the original
puzzle's cells and digits (``engine.solving.views``).

The TRM paper votes over augmented copies of each ARC task; this is the Sudoku analogue that
``trm solve --tta`` used to run. A sample counts where it is sure: its weight in a cell is its
probability of its digit there. It is kept so that it can be compared with the selection rules
(``engine.solving.selection``), which do much better on this project's models.
"""

from __future__ import annotations

import numpy as np


def vote(answers: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the digit with the largest summed weight over samples; and its share of the weight.

    ``answers`` and ``weights`` are (B, K, 81). Returns grids (B, 81) and agreement (B,), the mean
    over cells of the winning digit's share.
    """
    # A floor keeps a sample's vote alive where its weight underflowed.
    weights = np.maximum(np.asarray(weights, dtype=np.float64), np.finfo(np.float64).tiny)
    # totals[b, cell, d]: summed weight of the samples that chose digit d there (0 = left empty).
    totals = np.stack([(weights * (answers == d)).sum(1) for d in range(10)], axis=-1)
    grids = totals.argmax(-1).astype(np.uint8)
    share = totals.max(-1) / totals.sum(-1)
    return grids, share.mean(-1).astype(np.float32)
