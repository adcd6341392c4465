"""The exact solver's puzzles/s on the bundled sample sets (``puzzles/samples``).

Reuses ``puzzles.bench_solver.measure`` (best of ``repeat`` runs of ``solve_batch`` with a
uniqueness check, after numba compilation, plus rating statistics); this module only finds and
reads the sample files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from puzzles import csv_format
from puzzles.bench_solver import BenchSet, Row, measure
from puzzles.parse import read_puzzles
from puzzles.solver import warm_up

# Beside the puzzles modules (a module's __file__: the editable install maps packages, not files).
SAMPLES = Path(csv_format.__file__).parent / "samples"


def sample_sets(folder: Path = SAMPLES) -> list[BenchSet]:
    """Every puzzle file in ``folder`` (.txt and .csv), with ratings where a CSV gives them."""
    sets = []
    for path in sorted(folder.glob("*.txt")) + sorted(folder.glob("*.csv")):
        if path.name.startswith("LICENSE"):
            continue
        if path.suffix == ".csv":
            loaded = csv_format.read_csv(path)
            sets.append(BenchSet(path.name, loaded.questions, loaded.ratings))
        else:
            grids = np.stack([p.grid for p in read_puzzles(path)])
            sets.append(BenchSet(path.name, grids, None))
    return sets


def bench_solver(repeat: int = 3, limit: int = 2, folder: Path = SAMPLES) -> list[Row]:
    """Puzzles/s (and ratings) of the exact solver on each sample set."""
    warm_up()
    return [measure(bench, limit, repeat) for bench in sample_sets(folder)]
