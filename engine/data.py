"""Training data for the trainer: loading the puzzle splits and a checkpointable, seeded sampler.

Follows the TRM reference's Sudoku recipe (Jolicoeur-Martineau, 2025): training puzzles are
shown under random rule-preserving shuffles (digit relabelling, band/row and stack/column
permutations, transpose), either drawn fresh per sample or from ``n_aug`` shuffles per puzzle
fixed in advance (the reference builder's 1,000). An epoch is one permutation of the training
puzzles. Departure: the reference draws a whole new batch every step and keeps only the rows
that halted; here the sampler draws exactly one new puzzle per halted row, so no data is wasted.

Without ``--data`` a default set is generated offline (``puzzles.generate``) and cached as a CSV
under ``$TRM_CACHE_DIR`` (default ``~/.cache/trm/datasets``), keyed by a hash of its parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.config import DataConfig
from puzzles.augment import shuffle
from puzzles.dataset import PuzzleSet, load_dataset, read_csv, write_csv
from puzzles.grid import to_tokens as grid_tokens


class DataError(ValueError):
    """The data cannot be trained on; the message names the file."""


@dataclass
class DataSplits:
    """The puzzles a run trains and evaluates on (digits, 0 = empty)."""

    train_questions: np.ndarray  # (N_train, 81) uint8
    train_answers: np.ndarray  # (N_train, 81) uint8
    test_questions: np.ndarray  # (N_test, 81) uint8
    test_answers: np.ndarray  # (N_test, 81) uint8
    source: str  # where they came from (a path, or the cached generated file)


@dataclass
class Batch:
    """Puzzles drawn by the sampler, as digits (0 = empty)."""

    questions: np.ndarray  # (k, 81) uint8
    answers: np.ndarray  # (k, 81) uint8


def cache_dir() -> Path:
    """Folder of generated default datasets: ``$TRM_CACHE_DIR`` or ``~/.cache/trm/datasets``."""
    env = os.environ.get("TRM_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "trm" / "datasets"


def default_dataset_path(cfg: DataConfig) -> Path:
    """Cache file of the generated default dataset for these data settings."""
    key = {"n": cfg.n_train + cfg.n_test, "seed": cfg.seed, "min_rating": cfg.min_rating, "v": 1}
    if cfg.min_clues:
        key["min_clues"] = cfg.min_clues
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / f"default-{digest}.csv"


def ensure_default_dataset(cfg: DataConfig, progress: Callable[[int], None] | None = None) -> Path:
    """Generate the default dataset into the cache unless it is already there; return its path."""
    path = default_dataset_path(cfg)
    if path.exists():
        return path
    # Imported here: the generator compiles its solver with numba, needed only without --data.
    from puzzles.generate import generate

    path.parent.mkdir(parents=True, exist_ok=True)
    # One worker: the generator's output depends on the worker count, and the cache must not.
    made = generate(
        cfg.n_train + cfg.n_test,
        seed=cfg.seed,
        min_rating=cfg.min_rating,
        workers=1,
        progress=progress,
    )
    questions, ratings = made.questions, made.ratings
    if cfg.min_clues:
        from puzzles.generate import reveal
        from puzzles.solver import rate

        rng = np.random.default_rng([cfg.seed, cfg.min_clues])
        questions = reveal(questions, made.answers, cfg.min_clues, rng)
        ratings = rate(questions)
    n = len(questions)
    puzzles = PuzzleSet(
        questions=questions,
        answers=made.answers,
        ratings=ratings,
        sources=np.full(n, "generated", dtype=object),
    )
    # write_csv is atomic (temp file + rename), so a crash never leaves a half-written cache entry;
    # a concurrent run with the same settings writes the same content, so replacing it is safe.
    write_csv(path, puzzles, overwrite=True)
    return path


def _split(n: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices of a seeded held-out split: at most n_test, at most half of n."""
    n_hold = min(n_test, n // 2)
    order = np.random.default_rng([seed, 7]).permutation(n)
    return np.sort(order[n_hold:]), np.sort(order[:n_hold])


def load_data(cfg: DataConfig, progress: Callable[[int], None] | None = None) -> DataSplits:
    """The train and test puzzles for ``cfg``: from ``cfg.path``, or the generated default."""
    splits = _load_splits(cfg, progress)
    for name, answers in (("train", splits.train_answers), ("test", splits.test_answers)):
        missing = int((~answers.all(axis=1)).sum())
        if missing:
            raise DataError(
                f"{splits.source}: {missing} {name} puzzles have no answer "
                "(add them with `trm data label`)"
            )
    if len(splits.train_questions) == 0:
        raise DataError(f"{splits.source}: no training puzzles")
    return splits


def _load_splits(cfg: DataConfig, progress: Callable[[int], None] | None) -> DataSplits:
    """The splits before checks: the default's first n_train rows train, the next n_test test."""
    if not cfg.path:
        path = ensure_default_dataset(cfg, progress)
        full = read_csv(path)
        n_train = min(cfg.n_train, len(full.questions) - 1)
        return DataSplits(
            train_questions=full.questions[:n_train],
            train_answers=full.answers[:n_train],
            test_questions=full.questions[n_train : n_train + cfg.n_test],
            test_answers=full.answers[n_train : n_train + cfg.n_test],
            source=str(path),
        )
    splits = load_dataset(cfg.path)
    train = splits.train
    if splits.test is None:
        train_idx, test_idx = _split(len(train), cfg.n_test, cfg.seed)
        return DataSplits(
            train_questions=train.questions[train_idx],
            train_answers=train.answers[train_idx],
            test_questions=train.questions[test_idx],
            test_answers=train.answers[test_idx],
            source=cfg.path,
        )
    return DataSplits(
        train_questions=train.questions,
        train_answers=train.answers,
        test_questions=splits.test.questions[: cfg.n_test],
        test_answers=splits.test.answers[: cfg.n_test],
        source=cfg.path,
    )


class Sampler:
    """Draws training puzzles: epochs of permutations, augmented per ``augment``; resumable exactly.

    ``stream`` separates the random streams of data-parallel ranks (rank ``r`` uses stream ``r``).
    """

    def __init__(
        self,
        questions: np.ndarray,
        answers: np.ndarray,
        augment: str,
        n_aug: int,
        seed: int,
        stream: int = 0,
    ) -> None:
        if len(questions) == 0:
            raise ValueError("the training set is empty")
        self.augment = augment
        self.questions = np.ascontiguousarray(questions, dtype=np.uint8)
        self.answers = np.ascontiguousarray(answers, dtype=np.uint8)
        self.rng = np.random.default_rng([seed, 1000 + stream])
        if augment == "fixed":
            # The reference builder's layout: the original plus n_aug shuffles of each puzzle,
            # made once from the data seed (the same on every rank).
            self.fixed_q, self.fixed_a = _fixed_augmentations(
                self.questions, self.answers, n_aug, seed
            )
        self.order = self.rng.permutation(len(self.questions))
        self.position = 0
        self.epoch = 0
        self.n_drawn = 0

    def draw(self, k: int) -> Batch:
        """The next ``k`` puzzles (crossing epoch boundaries as needed)."""
        picked = np.empty(k, dtype=np.int64)
        filled = 0
        while filled < k:
            if self.position == len(self.order):
                self.order = self.rng.permutation(len(self.questions))
                self.position = 0
                self.epoch += 1
            take = min(k - filled, len(self.order) - self.position)
            picked[filled : filled + take] = self.order[self.position : self.position + take]
            self.position += take
            filled += take
        self.n_drawn += k
        if self.augment == "fixed":
            variant = self.rng.integers(0, self.fixed_q.shape[1], size=k)
            return Batch(self.fixed_q[picked, variant], self.fixed_a[picked, variant])
        questions, answers = self.questions[picked], self.answers[picked]
        if self.augment == "fresh" and k > 0:
            questions, answers = _shuffled(questions, answers, self.rng)
        return Batch(questions, answers)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the exact same stream (plain types and tensors only)."""
        return {
            "rng": self.rng.bit_generator.state,
            "order": torch.from_numpy(self.order.copy()),
            "position": self.position,
            "epoch": self.epoch,
            "n_drawn": self.n_drawn,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict`."""
        self.rng.bit_generator.state = state["rng"]
        self.order = state["order"].numpy().astype(np.int64)
        self.position = int(state["position"])
        self.epoch = int(state["epoch"])
        self.n_drawn = int(state["n_drawn"])


def _shuffled(
    questions: np.ndarray, answers: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One random rule-preserving shuffle per row (puzzles.augment)."""
    out = shuffle(questions, answers, rng)
    return out.questions, out.answers


def _fixed_augmentations(
    questions: np.ndarray, answers: np.ndarray, n_aug: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N, n_aug + 1, 81) originals followed by n_aug seeded shuffles of every puzzle."""
    rng = np.random.default_rng([seed, 2000])
    fixed_q = np.empty((len(questions), n_aug + 1, 81), dtype=np.uint8)
    fixed_a = np.empty_like(fixed_q)
    fixed_q[:, 0], fixed_a[:, 0] = questions, answers
    for i in range(1, n_aug + 1):
        fixed_q[:, i], fixed_a[:, i] = _shuffled(questions, answers, rng)
    return fixed_q, fixed_a


def to_tokens(digits: np.ndarray, device: torch.device) -> torch.Tensor:
    """Digits (0 = empty) as model token ids (digit + 1), a long tensor on ``device``."""
    return torch.from_numpy(grid_tokens(digits).astype(np.int64)).to(device)
