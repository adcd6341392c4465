"""Solving: a trained TRM answering puzzles, kept apart from training (it never imports the
trainer).

- ``inference``: the supervision-step loop with halting; rows that halt (or whose puzzle is
  decided) leave the batch; optional noise on ``z``.
- ``views``: the symmetry views a puzzle is solved as, and mapping answers back.
- ``selection``: which sample answers a puzzle (``halt-first``, ``valid``) and the steps early
  exit spends.
- ``vote``: the per-cell vote over samples.
- ``sampling``: ``K`` samples per puzzle in one batch, selected: what ``trm solve`` runs.
- ``scoring``: exact accuracy and steps spent of sampled solving (``trm eval``, the scaling bench).
"""

DEFAULT_SAMPLES = 16  # K of `trm solve`, `trm eval` and the dashboard (docs/RESULTS.md, scaling)
