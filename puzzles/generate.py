"""Puzzle generator: unique, minimal Sudoku puzzles, with a hard tail reached by local search.

A puzzle starts as a random full grid (the solver filling an empty grid with random cell and
digit orders), from which clues are removed in random order while the solution stays unique:
a minimal puzzle, usually easy (mean rating 0.8). Sudoku-Extreme also holds the hardest forum
puzzles (ratings of tens to hundreds of guesses). To reach them, ``min_rating`` runs a hill
climb over minimal puzzles with the same answer: drop one clue, add answer clues in random
order until the solution is unique again, re-minimise, and keep the result if its rating (as
``puzzles.solver.rate``) is no lower; equal moves are kept too, so the climb walks across
plateaus. After ``PATIENCE`` steps without a gain it starts over from a new grid.
``max_clues`` is part of the same climb: a puzzle over the cap climbs towards fewer clues first.

Throughput, one worker, shared 2-core machine (noisy; rates at a floor vary about 2x between
seeds): ``min_rating`` 0: ~16,000 puzzles/min; 5: ~750; 10: ~110; 20: ~16; 50: ~1.7. The
hard ones are hard in any presentation: rated over random symmetric copies, puzzles made
with ``min_rating=10`` average 8.7 guesses against 6.2 for magictour top1465. Alternatives
measured (rating >= 20): climbing on the size of the whole uniqueness search instead of the
rating, 8-13 puzzles/min against 17-22; patience of 300 or 1,000 steps instead of 3,000
restarted climbs that were still going (11 and 17 per minute).

Determinism: work is cut into chunks of ``CHUNK`` puzzles; chunk ``i`` draws from its own
``np.random.Generator`` seeded with ``np.random.SeedSequence(seed).spawn(...)[i]``, and chunks
are merged in order. The output depends on ``seed`` only, not on ``workers`` (a stronger
promise than "same seed and workers"), and a shorter run is a prefix of a longer one.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from puzzles._generate_core import count_and_rate, fill_grid, minimise
from puzzles._solver_core import workspace
from puzzles.grid import N_CELLS

CHUNK = 4  # puzzles per unit of work: seeding, scheduling and progress with workers > 1
PATIENCE = 3000  # climb steps (about 6 s) without a gain before starting over
MIN_CLUES = 17  # no 9x9 Sudoku with fewer clues has a unique solution


@dataclass(frozen=True)
class Generated:
    """A generated set, row-aligned."""

    questions: np.ndarray  # (N, 81) uint8, exactly one solution each
    answers: np.ndarray  # (N, 81) uint8
    ratings: np.ndarray  # (N,) int64, solver guesses, as puzzles.solver.rate


@dataclass(frozen=True)
class _Puzzle:
    """One generated puzzle."""

    question: np.ndarray  # (81,) uint8
    answer: np.ndarray  # (81,) uint8
    rating: int


@dataclass(frozen=True)
class _Chunk:
    """One unit of work, possibly for a worker process."""

    seed: np.random.SeedSequence
    count: int
    min_rating: int
    max_clues: int


class _Maker:
    """Makes puzzles from one random generator, reusing the solver's work buffers."""

    def __init__(self, rng: np.random.Generator, min_rating: int, max_clues: int) -> None:
        self.rng = rng
        self.min_rating = min_rating
        self.max_clues = max_clues
        self.buffers = workspace()

    def grid(self) -> np.ndarray:
        """A random full grid."""
        cell_order = self.rng.permutation(N_CELLS).astype(np.int32)
        digits = np.tile(np.arange(9, dtype=np.int32), (N_CELLS, 1))
        if not fill_grid(cell_order, self.rng.permuted(digits, axis=1), *self.buffers):
            raise RuntimeError("the solver failed to fill an empty grid")
        return self.buffers[-1].copy()

    def minimal(self, puzzle: np.ndarray) -> np.ndarray:
        """A minimal puzzle from a unique one, dropping clues in random order."""
        puzzle = puzzle.copy()
        minimise(puzzle, self.rng.permutation(N_CELLS).astype(np.int32), *self.buffers)
        return puzzle

    def is_unique(self, puzzle: np.ndarray) -> bool:
        """True if the puzzle has exactly one solution."""
        return count_and_rate(puzzle, 2, *self.buffers)[0] == 1

    def neighbour(self, puzzle: np.ndarray, answer: np.ndarray) -> np.ndarray:
        """Drop one clue, add answer clues until unique again, then re-minimise."""
        moved = puzzle.copy()
        moved[self.rng.choice(np.flatnonzero(puzzle))] = 0
        for cell in self.rng.permutation(np.flatnonzero(puzzle == 0)):  # not the dropped one
            moved[cell] = answer[cell]
            if self.is_unique(moved):
                break
        return self.minimal(moved)

    def score(self, puzzle: np.ndarray) -> tuple[int, int]:
        """What the climb maximises: (minus the clues over the cap, rating)."""
        excess = max(0, int(np.count_nonzero(puzzle)) - self.max_clues)
        return -excess, int(count_and_rate(puzzle, 1, *self.buffers)[1])

    def puzzle(self) -> _Puzzle:
        """One puzzle meeting ``min_rating`` and ``max_clues``."""
        while True:
            answer = self.grid()
            question = self.minimal(answer)
            score = self.score(question)
            stale = 0
            while stale < PATIENCE:
                if score[0] == 0 and score[1] >= self.min_rating:
                    return _Puzzle(question, answer, score[1])
                candidate = self.neighbour(question, answer)
                candidate_score = self.score(candidate)
                stale = 0 if candidate_score > score else stale + 1
                if candidate_score >= score:
                    question, score = candidate, candidate_score


def _generate_chunk(chunk: _Chunk, progress: Callable[[int], None] | None = None) -> Generated:
    """Make one chunk of puzzles, reporting each one to ``progress``."""
    maker = _Maker(np.random.default_rng(chunk.seed), chunk.min_rating, chunk.max_clues)
    made = []
    for _ in range(chunk.count):
        made.append(maker.puzzle())
        if progress is not None:
            progress(1)
    return _stack(made)


def _stack(made: list[_Puzzle]) -> Generated:
    """Puzzles as one ``Generated``."""
    return Generated(
        questions=np.array([p.question for p in made], dtype=np.uint8).reshape(-1, N_CELLS),
        answers=np.array([p.answer for p in made], dtype=np.uint8).reshape(-1, N_CELLS),
        ratings=np.array([p.rating for p in made], dtype=np.int64),
    )


def _concat(parts: list[Generated]) -> Generated:
    """Chunks' results in order as one ``Generated``."""
    if not parts:
        return _stack([])
    return Generated(
        questions=np.concatenate([p.questions for p in parts]),
        answers=np.concatenate([p.answers for p in parts]),
        ratings=np.concatenate([p.ratings for p in parts]),
    )


def _chunks(count: int, seed: int, min_rating: int, max_clues: int) -> Iterator[_Chunk]:
    """The chunks of a run; chunk i is seeded with ``SeedSequence(seed).spawn(...)[i]``."""
    for i, start in enumerate(range(0, count, CHUNK)):
        child = np.random.SeedSequence(seed, spawn_key=(i,))  # == SeedSequence(seed).spawn(n)[i]
        yield _Chunk(child, min(CHUNK, count - start), min_rating, max_clues)


def _check_arguments(count: int, min_rating: int, max_clues: int, workers: int) -> None:
    """Reject arguments no generator run could satisfy."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if min_rating < 0:
        raise ValueError(f"min_rating must be >= 0, got {min_rating}")
    if not MIN_CLUES <= max_clues <= N_CELLS:
        raise ValueError(f"max_clues must be in {MIN_CLUES}..{N_CELLS}, got {max_clues}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")


def generate(
    count: int,
    seed: int = 0,
    min_rating: int = 0,
    max_clues: int = 81,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Generated:
    """Make ``count`` unique, minimal puzzles rated at least ``min_rating``, with answers."""
    _check_arguments(count, min_rating, max_clues, workers)
    chunks = _chunks(count, seed, min_rating, max_clues)
    parts: list[Generated] = []
    if workers == 1:
        parts = [_generate_chunk(chunk, progress) for chunk in chunks]
    else:
        # spawn, not fork: a worker must not inherit the caller's threads (torch, numba)
        n_chunks = -(-count // CHUNK)
        with multiprocessing.get_context("spawn").Pool(max(1, min(workers, n_chunks))) as pool:
            for part in pool.imap(_generate_chunk, chunks):
                parts.append(part)
                if progress is not None:
                    progress(len(part.ratings))
    return _concat(parts)


def reveal(
    questions: np.ndarray,
    answers: np.ndarray,
    min_clues: int | np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Copy answer digits into random empty cells until each puzzle has at least ``min_clues``
    givens (one count for all, or one per puzzle).

    Adding givens from the solution keeps the solution unique and makes the puzzle easier; the
    ``cpu`` preset trains on such puzzles so that a few minutes of training visibly solve some.
    """
    questions = np.asarray(questions, dtype=np.uint8)
    missing = np.maximum(0, min_clues - (questions > 0).sum(axis=1))  # (N,)
    priority = rng.random(questions.shape)
    priority[questions > 0] = np.inf  # givens are never picked
    rank = np.argsort(np.argsort(priority, axis=1), axis=1)  # 0 = first empty cell to reveal
    chosen = rank < missing[:, None]
    return np.where(chosen, answers, questions).astype(np.uint8)
