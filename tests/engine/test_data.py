"""The trainer's data: splits from files, the cached generated default, the resumable sampler."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import DataError, Sampler, default_dataset_path, load_data, to_tokens
from puzzles.augment import shuffle
from puzzles.dataset import PuzzleSet, write_csv
from puzzles.grid import agrees_with_givens, is_complete_solution


def make_puzzles(n: int, blanks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` valid (not necessarily unique) puzzles with ``blanks`` empty cells, and their
    solutions."""
    rng = np.random.default_rng(seed)
    base = np.array([(r * 3 + r // 3 + c) % 9 + 1 for r in range(9) for c in range(9)], np.uint8)
    solutions = shuffle(np.tile(base, (n, 1)), np.tile(base, (n, 1)), rng).answers
    questions = solutions.copy()
    for row in questions:
        row[rng.choice(81, blanks, replace=False)] = 0
    return questions, solutions


def write_puzzles(path: Path, n: int, blanks: int = 30, seed: int = 0) -> Path:
    """A Sudoku-Extreme CSV of ``make_puzzles``."""
    questions, answers = make_puzzles(n, blanks, seed)
    write_csv(path, PuzzleSet.from_grids(questions, answers, source="test"))
    return path


def test_single_csv_is_split_deterministically(tmp_path: Path) -> None:
    path = write_puzzles(tmp_path / "p.csv", 20)
    cfg = DataConfig(path=str(path), n_test=5, seed=3)
    a, b = load_data(cfg), load_data(cfg)
    assert len(a.train_questions) == 15 and len(a.test_questions) == 5
    assert np.array_equal(a.test_questions, b.test_questions)
    rows = {bytes(q) for q in a.train_questions} | {bytes(q) for q in a.test_questions}
    assert len(rows) == 20  # disjoint and complete
    other = load_data(DataConfig(path=str(path), n_test=5, seed=4))
    assert not np.array_equal(a.test_questions, other.test_questions)


def test_pair_of_files_and_test_cap(tmp_path: Path) -> None:
    train = write_puzzles(tmp_path / "train.csv", 6, seed=1)
    test = write_puzzles(tmp_path / "test.csv", 9, seed=2)
    splits = load_data(DataConfig(path=f"{train},{test}", n_test=4))
    assert len(splits.train_questions) == 6 and len(splits.test_questions) == 4


def test_puzzles_without_answers_are_rejected(tmp_path: Path) -> None:
    questions, _ = make_puzzles(6, 30, 0)
    path = tmp_path / "q.csv"
    write_csv(path, PuzzleSet.from_grids(questions))
    with pytest.raises(DataError, match=r"q\.csv.*no answer"):
        load_data(DataConfig(path=str(path), n_test=2))


def test_default_dataset_is_generated_once_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def generate(count: int, seed: int = 0, min_rating: int = 0, **kwargs: object) -> object:
        calls.append((count, seed, min_rating))
        questions, answers = make_puzzles(count, 20, seed)
        return types.SimpleNamespace(
            questions=questions, answers=answers, ratings=np.zeros(count, np.int64)
        )

    monkeypatch.setitem(sys.modules, "puzzles.generate", types.SimpleNamespace(generate=generate))
    monkeypatch.setenv("TRM_CACHE_DIR", str(tmp_path / "cache"))
    cfg = DataConfig(n_train=8, n_test=3, seed=5, min_rating=2)
    first = load_data(cfg)
    second = load_data(cfg)
    assert calls == [(11, 5, 2)]
    assert default_dataset_path(cfg).parent == tmp_path / "cache"
    assert default_dataset_path(cfg) != default_dataset_path(
        DataConfig(n_train=8, n_test=3, seed=6)
    )
    assert len(first.train_questions) == 8 and len(first.test_questions) == 3
    assert np.array_equal(first.train_answers, second.train_answers)


def test_an_epoch_is_a_permutation_of_the_training_puzzles() -> None:
    questions, answers = make_puzzles(10, 30, 0)
    sampler = Sampler(questions, answers, augment="none", n_aug=1, seed=0)
    drawn = np.concatenate(
        [sampler.draw(3).questions for _ in range(3)] + [sampler.draw(1).questions]
    )
    assert sorted(map(bytes, drawn)) == sorted(map(bytes, questions))
    assert sampler.epoch == 0
    sampler.draw(2)
    assert sampler.epoch == 1 and sampler.n_drawn == 12


def test_min_clues_tops_up_generated_puzzles_from_their_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRM_CACHE_DIR", str(tmp_path))
    minimal = load_data(DataConfig(n_train=6, n_test=2, seed=3))
    easy = load_data(DataConfig(n_train=6, n_test=2, seed=3, min_clues=40))
    assert ((easy.train_questions > 0).sum(axis=1) == 40).all()
    assert ((minimal.train_questions > 0).sum(axis=1) < 40).all()
    assert agrees_with_givens(easy.train_questions, easy.train_answers).all()


@pytest.mark.parametrize("augment", ["fresh", "fixed"])
def test_augmented_samples_are_valid_puzzles(augment: str) -> None:
    questions, answers = make_puzzles(5, 30, 0)
    batch = Sampler(questions, answers, augment=augment, n_aug=3, seed=0).draw(20)
    assert is_complete_solution(batch.answers).all()
    assert agrees_with_givens(batch.questions, batch.answers).all()
    assert ((batch.questions == 0).sum(axis=1) == 30).all()
    originals = {bytes(q) for q in questions}
    assert sum(bytes(q) not in originals for q in batch.questions) > 10


@pytest.mark.parametrize("augment", ["none", "fresh", "fixed"])
def test_sampler_state_resumes_the_same_stream(augment: str) -> None:
    questions, answers = make_puzzles(7, 30, 0)
    a = Sampler(questions, answers, augment=augment, n_aug=2, seed=1)
    a.draw(5)
    state = a.state_dict()
    expected = [a.draw(k) for k in (4, 6, 3)]
    b = Sampler(questions, answers, augment=augment, n_aug=2, seed=1)
    b.load_state_dict(state)
    for k, want in zip((4, 6, 3), expected, strict=True):
        got = b.draw(k)
        assert np.array_equal(got.questions, want.questions)
        assert np.array_equal(got.answers, want.answers)


def test_ranks_draw_distinct_streams() -> None:
    questions, answers = make_puzzles(50, 30, 0)
    a = Sampler(questions, answers, augment="none", n_aug=1, seed=0, stream=0).draw(20)
    b = Sampler(questions, answers, augment="none", n_aug=1, seed=0, stream=1).draw(20)
    assert not np.array_equal(a.questions, b.questions)


def test_tokens_are_digits_plus_one() -> None:
    import torch

    tokens = to_tokens(np.array([[0, 1, 9]], np.uint8), torch.device("cpu"))
    assert tokens.dtype == torch.long and tokens.tolist() == [[1, 2, 10]]
