"""Set descriptions, and recognising puzzles up to symmetry (invariant keys, exact test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from puzzles.augment import shuffle
from puzzles.dataset import PuzzleSet, Splits, concat, read_csv, write_csv
from puzzles.info import band_label, describe
from puzzles.reference import write_reference
from puzzles.symmetry import equivalent, exact_keys, invariant_keys

SAMPLE_PATH = Path(__file__).parents[2] / "puzzles" / "samples" / "top1465-sample.csv"
SAMPLE = read_csv(SAMPLE_PATH)


def test_invariant_keys_agree_for_every_symmetric_copy() -> None:
    copies = shuffle(SAMPLE.questions, SAMPLE.answers, np.random.default_rng(4))
    np.testing.assert_array_equal(
        invariant_keys(SAMPLE.questions), invariant_keys(copies.questions)
    )
    np.testing.assert_array_equal(invariant_keys(SAMPLE.answers), invariant_keys(copies.answers))
    transposed = SAMPLE.questions.reshape(-1, 9, 9).transpose(0, 2, 1).reshape(-1, 81)
    np.testing.assert_array_equal(invariant_keys(SAMPLE.questions), invariant_keys(transposed))
    assert (exact_keys(SAMPLE.questions) != exact_keys(copies.questions)).any(axis=1).all()


def test_invariant_keys_separate_different_puzzles() -> None:
    keys = invariant_keys(SAMPLE.questions).view("V16").ravel()
    assert len(np.unique(keys)) == len(SAMPLE)
    # one given changed (a near-duplicate, as top1465 has many) changes the key
    changed = SAMPLE.questions[0].copy()
    cell = int(np.flatnonzero(changed)[0])
    changed[cell] = _free_digit(changed, cell)
    assert (invariant_keys(changed) != invariant_keys(SAMPLE.questions[0])).any()


def test_equivalent_is_exact() -> None:
    copies = shuffle(SAMPLE.questions[:10], SAMPLE.answers[:10], np.random.default_rng(5))
    for i in range(10):
        assert equivalent(SAMPLE.questions[i], copies.questions[i])
        assert not equivalent(SAMPLE.questions[i], copies.questions[(i + 1) % 10])
    # the same pattern of givens with one digit changed (no rule broken) is another puzzle
    changed = copies.questions[0].copy()
    cell = int(np.flatnonzero(changed)[0])
    changed[cell] = _free_digit(changed, cell)
    assert not equivalent(SAMPLE.questions[0], changed)


def _free_digit(grid: np.ndarray, cell: int) -> int:
    """A digit other than the cell's own that its row, column and box do not hold."""
    r, c = divmod(cell, 9)
    box = grid.reshape(9, 9)[r // 3 * 3 : r // 3 * 3 + 3, c // 3 * 3 : c // 3 * 3 + 3]
    seen = set(grid.reshape(9, 9)[r]) | set(grid.reshape(9, 9)[:, c]) | set(box.ravel())
    return next(d for d in range(1, 10) if d not in seen)


def test_band_labels() -> None:
    assert [band_label(0, 0), band_label(2, 3), band_label(64, None)] == ["0", "2-3", "64+"]


def test_describe_counts_and_histograms() -> None:
    report = describe(Path(__file__).parents[2] / "puzzles" / "samples" / "top1465-sample.csv")
    info = report.train
    assert report.test is None and report.overlap is None
    assert info.n_puzzles == info.n_with_answer == info.n_rated == 50
    assert sum(info.clue_counts.values()) == 50
    assert info.clue_counts == {
        int(k): int(v)
        for k, v in zip(*np.unique((SAMPLE.questions > 0).sum(1), return_counts=True), strict=True)
    }
    assert sum(info.rating_bands.values()) == 50 and info.rating_bands["0"] == int(
        (SAMPLE.ratings == 0).sum()
    )
    assert info.rating_max == int(SAMPLE.ratings.max())
    assert info.rating_mean == pytest.approx(SAMPLE.ratings.mean())
    assert info.sources == {"puzzles3_magictour_top1465": 50}
    assert info.n_exact_duplicates == info.n_symmetric_duplicates == 0


def test_overlap_finds_shuffled_and_identical_copies(tmp_path: Path) -> None:
    train = SAMPLE[:40]
    copies = shuffle(SAMPLE.questions[:5], SAMPLE.answers[:5], np.random.default_rng(9))
    test = concat(
        [
            PuzzleSet.from_grids(copies.questions, copies.answers, source="shuffled"),
            SAMPLE[5:7],
            SAMPLE[40:],
        ]
    )
    write_csv(tmp_path / "train.csv", train)
    write_csv(tmp_path / "test.csv", test)
    report = describe(tmp_path / "train.csv", tmp_path / "test.csv")
    assert report.overlap is not None and report.test is not None
    assert report.test.n_puzzles == 17
    assert (report.overlap.n_exact, report.overlap.n_symmetric) == (2, 7)
    assert (report.overlap.n_checked, report.overlap.n_confirmed) == (5, 5)
    # the same answer through a folder holding train.csv and test.csv
    assert describe(tmp_path).overlap == report.overlap


def test_duplicates_within_a_set_and_reference_folders(tmp_path: Path) -> None:
    write_reference(
        tmp_path / "ref", Splits(SAMPLE[:4], SAMPLE[4:6]), n_aug=2, rng=np.random.default_rng(0)
    )
    report = describe(tmp_path / "ref")
    assert report.train.n_puzzles == 12
    assert report.train.n_symmetric_duplicates == 8 and report.train.n_exact_duplicates == 0
    assert report.overlap is not None and report.overlap.n_symmetric == 0


def test_a_bad_last_line_is_reported_before_any_describing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from puzzles.grid import to_line
    from puzzles.parse import PuzzleFormatError

    path = tmp_path / "set.txt"
    lines = [to_line(q) for q in SAMPLE.questions] + ["55" + "." * 79]
    path.write_text("\n".join(lines) + "\n")

    def no_keys(grids: np.ndarray) -> np.ndarray:
        raise AssertionError("described puzzles before reading the whole file")

    monkeypatch.setattr("puzzles.info.invariant_keys", no_keys)
    monkeypatch.setattr("puzzles.text_input.BLOCK_BYTES", 1000)  # the bad line in a later block
    with pytest.raises(PuzzleFormatError, match=r"set\.txt:51: digit 5 repeats in row 1$"):
        describe(path)
    with pytest.raises(PuzzleFormatError, match=r"set\.txt:51: "):
        describe(SAMPLE_PATH, test_path=path)
