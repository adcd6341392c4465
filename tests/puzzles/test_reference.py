"""The TRM reference builder's folder layout: facts of the format, export/import round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from puzzles.dataset import PuzzleSet, Splits, load_dataset, read_csv
from puzzles.grid import agrees_with_givens, is_complete_solution
from puzzles.parse import PuzzleFormatError
from puzzles.reference import read_reference, write_reference

SAMPLE = read_csv(Path(__file__).parents[2] / "puzzles" / "samples" / "top1465-sample.csv")


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    folder = tmp_path / "ref"
    splits = Splits(train=SAMPLE[:6], test=SAMPLE[6:10])
    write_reference(folder, splits, n_aug=2, rng=np.random.default_rng(0))
    return folder


def test_layout_matches_the_reference_builder(exported: Path) -> None:
    assert json.loads((exported / "identifiers.json").read_text()) == ["<blank>"]
    meta = json.loads((exported / "train" / "dataset.json").read_text())
    assert meta == {
        "pad_id": 0,
        "ignore_label_id": 0,
        "blank_identifier_id": 0,
        "vocab_size": 11,
        "seq_len": 81,
        "num_puzzle_identifiers": 1,
        "total_groups": 6,
        "mean_puzzle_examples": 1.0,
        "total_puzzles": 6,
        "sets": ["all"],
    }
    train = {
        k: np.load(exported / "train" / f"all__{k}.npy")
        for k in ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")
    }
    assert train["inputs"].shape == (18, 81) and train["inputs"].dtype == np.uint8
    np.testing.assert_array_equal(
        train["inputs"][::3], SAMPLE.questions[:6] + 1
    )  # originals first, 1 = empty
    np.testing.assert_array_equal(train["labels"][::3], SAMPLE.answers[:6] + 1)
    np.testing.assert_array_equal(train["puzzle_indices"], np.arange(19))
    np.testing.assert_array_equal(train["group_indices"], np.arange(0, 19, 3))
    np.testing.assert_array_equal(train["puzzle_identifiers"], np.zeros(18))
    assert all(
        train[k].dtype == np.int32
        for k in ("puzzle_identifiers", "puzzle_indices", "group_indices")
    )
    test_meta = json.loads((exported / "test" / "dataset.json").read_text())
    assert test_meta["total_groups"] == 4  # the test split is never augmented
    assert np.load(exported / "test" / "all__inputs.npy").shape == (4, 81)


def test_import_keeps_groups_and_valid_copies(exported: Path) -> None:
    splits = read_reference(exported)
    assert splits.test is not None and len(splits.test) == 4
    train = splits.train
    np.testing.assert_array_equal(train.groups, np.repeat(np.arange(6), 3))
    assert train.n_groups == 6 and (train.ratings == -1).all()
    assert (
        is_complete_solution(train.answers).all()
        and agrees_with_givens(train.questions, train.answers).all()
    )
    # the two copies of a group are shuffles of its original: same number of givens
    givens = (train.questions > 0).sum(1).reshape(6, 3)
    assert (givens == givens[:, :1]).all()


def test_export_then_import_round_trips(exported: Path, tmp_path: Path) -> None:
    first = load_dataset(exported)
    write_reference(tmp_path / "again", first)
    second = load_dataset(tmp_path / "again")
    for a, b in ((first.train, second.train), (first.test, second.test)):
        np.testing.assert_array_equal(a.questions, b.questions)
        np.testing.assert_array_equal(a.answers, b.answers)
        np.testing.assert_array_equal(a.groups, b.groups)
    for name in ("inputs", "labels", "puzzle_indices", "group_indices"):
        np.testing.assert_array_equal(
            np.load(exported / "train" / f"all__{name}.npy"),
            np.load(tmp_path / "again" / "train" / f"all__{name}.npy"),
        )


def test_rows_are_gathered_by_group_on_export(tmp_path: Path) -> None:
    puzzles = PuzzleSet(
        SAMPLE.questions[:4],
        SAMPLE.answers[:4],
        SAMPLE.ratings[:4],
        SAMPLE.sources[:4],
        groups=np.array([1, 0, 1, 0]),
    )
    write_reference(tmp_path / "g", Splits(puzzles, None))
    back = read_reference(tmp_path / "g")
    assert back.test is None
    np.testing.assert_array_equal(back.train.questions, SAMPLE.questions[[1, 3, 0, 2]])
    np.testing.assert_array_equal(back.train.groups, [0, 0, 1, 1])


def test_export_refuses_unlabelled_puzzles_and_existing_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="row 1 has no answer"):
        write_reference(tmp_path / "x", Splits(PuzzleSet.from_grids(SAMPLE.questions[:2]), None))
    assert not (tmp_path / "x").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        write_reference(tmp_path / "mine", Splits(SAMPLE[:2], None), overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="rng"):
        write_reference(tmp_path / "y", Splits(SAMPLE[:2], None), n_aug=1)


def test_overwrite_replaces_a_reference_folder(exported: Path) -> None:
    with pytest.raises(FileExistsError):
        write_reference(exported, Splits(SAMPLE[:2], None))
    write_reference(exported, Splits(SAMPLE[:2], None), overwrite=True)
    assert len(read_reference(exported).train) == 2 and read_reference(exported).test is None
    assert [p.name for p in exported.parent.iterdir()] == ["ref"]  # no temporary folders left


def test_broken_folders_are_reported_by_file(exported: Path) -> None:
    meta = exported / "train" / "dataset.json"
    (exported / "test" / "all__labels.npy").unlink()
    with pytest.raises(PuzzleFormatError, match=r"test/all__labels\.npy: missing$"):
        read_reference(exported)
    np.save(exported / "train" / "all__group_indices.npy", np.array([0, 5], np.int32))
    with pytest.raises(
        PuzzleFormatError, match=r"all__group_indices\.npy: must be cumulative indices from 0 to 18"
    ):
        read_reference(exported)
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "seq_len": 900}))
    with pytest.raises(PuzzleFormatError, match="seq_len is 900"):
        read_reference(exported)
    meta.write_text("{")
    with pytest.raises(PuzzleFormatError, match=r"dataset\.json:1: invalid JSON"):
        read_reference(exported)
