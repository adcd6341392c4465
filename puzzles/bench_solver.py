"""Solver benchmark: puzzles per second on one core, and rating agreement with tdoku.

``python -m puzzles.bench_solver [--file CSV]... [--limit 2] [--repeat 3]``

Sets: generated minimal puzzles (easy), generated puzzles with ``min_rating`` (hard), the
reference collections in /work/shared/data when present (magictour top1465 and famous hard
puzzles, with tdoku's ratings), and any Sudoku-Extreme CSV given with ``--file``. Times are the
best of ``--repeat`` runs of ``solve_batch`` over the whole set, after compilation; a shared
machine makes them noisy. Where a set carries ratings, the table compares ours with them:
exact-match share and Spearman's rho. ``perm`` is our mean rating over random symmetric
copies, a measure of difficulty that does not depend on how the puzzle happens to be written.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from puzzles.augment import random_transforms
from puzzles.csv_format import read_csv
from puzzles.generate import generate
from puzzles.solver import rate, solve_batch, warm_up

SHARED_DATA = Path("/work/shared/data")
N_PERMUTATIONS = 8


@dataclass(frozen=True)
class BenchSet:
    """A named set of puzzles, with reference ratings if known."""

    name: str
    questions: np.ndarray  # (N, 81) uint8
    ratings: np.ndarray | None  # (N,) reference ratings, None if unknown


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    name: str
    n_puzzles: int
    per_second: float
    mean_rating: float
    mean_perm_rating: float
    exact_match: float | None
    spearman: float | None


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (for Spearman's rho)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two equal-length arrays."""
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def measure(bench: BenchSet, limit: int, repeat: int) -> Row:
    """Time ``solve_batch`` on a set and compare its ratings."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = solve_batch(bench.questions, limit=limit)
        best = min(best, time.perf_counter() - start)
    if (result.n_solutions == 0).any():
        raise ValueError(
            f"{bench.name}: {int((result.n_solutions == 0).sum())} puzzles have no solution"
        )
    ours = rate(bench.questions)
    rng = np.random.default_rng(0)
    perm = [
        rate(random_transforms(len(ours), rng).apply(bench.questions))
        for _ in range(N_PERMUTATIONS)
    ]
    known = bench.ratings is not None and (bench.ratings >= 0).all()
    return Row(
        name=bench.name,
        n_puzzles=len(ours),
        per_second=len(ours) / best,
        mean_rating=float(ours.mean()),
        mean_perm_rating=float(np.mean(perm)),
        exact_match=float((ours == bench.ratings).mean()) if known else None,
        spearman=spearman(ours, bench.ratings) if known and len(ours) > 1 else None,
    )


def _sets(files: list[Path], n_easy: int, n_hard: int, hard_rating: int) -> list[BenchSet]:
    """The generated sets, the shared reference sets if present, and the given files."""
    easy = generate(n_easy, seed=0)
    hard = generate(n_hard, seed=0, min_rating=hard_rating)
    sets = [
        BenchSet("generated minimal", easy.questions, None),
        BenchSet(f"generated rating>={hard_rating}", hard.questions, None),
    ]
    shared = [SHARED_DATA / "top1465.rated.csv", SHARED_DATA / "famous.rated.csv"]
    for path in [p for p in shared if p.exists()] + files:
        loaded = read_csv(path)
        sets.append(BenchSet(path.name, loaded.questions, loaded.ratings))
    return sets


def _format(row: Row) -> str:
    """One table line."""
    match = "" if row.exact_match is None else f"{100 * row.exact_match:5.1f}%"
    rho = "" if row.spearman is None else f"{row.spearman:.3f}"
    return (
        f"{row.name:<24} {row.n_puzzles:>6} {row.per_second:>10.0f} "
        f"{1e6 / row.per_second:>8.1f} {row.mean_rating:>7.2f} {row.mean_perm_rating:>7.2f} "
        f"{match:>7} {rho:>6}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m puzzles.bench_solver", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--file", type=Path, action="append", default=[], help="a Sudoku-Extreme CSV (repeatable)"
    )
    parser.add_argument(
        "--limit", type=int, default=2, help="solutions to count (2 = uniqueness check)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per set; the best counts")
    parser.add_argument("--easy", type=int, default=1000, help="generated minimal puzzles")
    parser.add_argument("--hard", type=int, default=24, help="generated hard puzzles")
    parser.add_argument("--hard-rating", type=int, default=10, help="min_rating of the hard set")
    args = parser.parse_args(argv)
    for path in args.file:
        if not path.is_file():
            parser.error(f"{path}: no such file")
    warm_up()
    sets = _sets(args.file, args.easy, args.hard, args.hard_rating)
    print(f"solve_batch, limit={args.limit}, one core, best of {args.repeat} (after compilation)")
    print(
        f"{'set':<24} {'n':>6} {'puzzles/s':>10} {'us/puz':>8} {'rating':>7} {'perm':>7} "
        f"{'=tdoku':>7} {'rho':>6}"
    )
    for bench in sets:
        print(_format(measure(bench, args.limit, args.repeat)))


if __name__ == "__main__":
    main()
