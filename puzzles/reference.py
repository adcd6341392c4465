"""The TRM reference builder's dataset layout (``dataset/build_sudoku_dataset.py``), read and
written.

Layout (facts of the reference builder for Sudoku, shared with HRM's)::

    FOLDER/identifiers.json            ["<blank>"]
    FOLDER/{train,test}/dataset.json   metadata, keys below
    FOLDER/{train,test}/all__inputs.npy              (E, 81) uint8 tokens: 1 empty, d + 1 digit
    FOLDER/{train,test}/all__labels.npy              (E, 81) uint8 tokens: d + 1
    FOLDER/{train,test}/all__puzzle_identifiers.npy  (P,) int32, all 0
    FOLDER/{train,test}/all__puzzle_indices.npy      (P + 1,) int32 cumulative, from 0
    FOLDER/{train,test}/all__group_indices.npy       (G + 1,) int32 cumulative, from 0

Each augmented copy is its own puzzle with one example, and an original puzzle with its copies
forms one group; the builder adds ``--num-aug`` copies to the training split only. dataset.json:
seq_len 81, vocab_size 11, pad_id 0, ignore_label_id 0, blank_identifier_id 0,
num_puzzle_identifiers 1, total_groups G, mean_puzzle_examples 1, total_puzzles (the TRM builder
writes G, the number of original puzzles), sets ["all"]. Import keeps the groups (a row's group is
its original puzzle) so the trainer can draw one copy per original; export writes rows grouped the
same way, so a folder round-trips. Ratings and sources are not part of the layout and are lost.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from puzzles.augment import shuffle
from puzzles.format_error import PuzzleFormatError
from puzzles.grid import N_CELLS
from puzzles.puzzle_set import PuzzleSet, Splits

SPLITS = ("train", "test")
ARRAYS = ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")
_FIXED_METADATA = {
    "pad_id": 0,
    "ignore_label_id": 0,
    "blank_identifier_id": 0,
    "vocab_size": 11,
    "seq_len": N_CELLS,
    "num_puzzle_identifiers": 1,
    "mean_puzzle_examples": 1.0,
    "sets": ["all"],
}


def is_reference_folder(path: str | Path) -> bool:
    """True when ``path`` holds ``train/dataset.json``."""
    return (Path(path) / "train" / "dataset.json").is_file()


def read_reference(folder: str | Path) -> Splits:
    """Import a reference-layout folder; ``test`` is None when the folder has no test split."""
    folder = Path(folder)
    if not is_reference_folder(folder):
        raise PuzzleFormatError(
            str(folder), 0, "not a reference dataset folder (no train/dataset.json)"
        )
    train = _read_split(folder / "train")
    test = _read_split(folder / "test") if (folder / "test" / "dataset.json").is_file() else None
    return Splits(train=train, test=test)


def _read_split(split: Path) -> PuzzleSet:
    meta_path = split / "dataset.json"
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as error:
        raise PuzzleFormatError(
            str(meta_path), error.lineno, f"invalid JSON: {error.msg}"
        ) from None
    for key in ("seq_len", "vocab_size"):
        if meta.get(key) != _FIXED_METADATA[key]:
            reason = f"{key} is {meta.get(key)!r}, a Sudoku dataset needs {_FIXED_METADATA[key]}"
            raise PuzzleFormatError(str(meta_path), 0, reason)
    arrays = {}
    for name in ARRAYS:
        path = split / f"all__{name}.npy"
        if not path.is_file():
            raise PuzzleFormatError(str(path), 0, "missing")
        try:
            arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as error:
            raise PuzzleFormatError(str(path), 0, f"not a readable .npy array: {error}") from None
    inputs, labels = arrays["inputs"], arrays["labels"]
    n_examples = len(inputs)
    if inputs.shape != (n_examples, N_CELLS) or labels.shape != inputs.shape:
        raise PuzzleFormatError(
            str(split / "all__inputs.npy"),
            0,
            f"expected (E, 81) arrays, got {inputs.shape} and {labels.shape}",
        )
    if n_examples and (inputs.min() < 1 or inputs.max() > 10 or labels.max() > 10):
        raise PuzzleFormatError(
            str(split / "all__inputs.npy"), 0, "token ids must be 1..10 (1 = empty)"
        )
    puzzle_of_example = _owners(
        arrays["puzzle_indices"], n_examples, split / "all__puzzle_indices.npy"
    )
    n_puzzles = len(arrays["puzzle_indices"]) - 1
    group_of_puzzle = _owners(arrays["group_indices"], n_puzzles, split / "all__group_indices.npy")
    labels = np.asarray(labels, dtype=np.int64)
    return PuzzleSet(
        questions=np.asarray(inputs, dtype=np.uint8) - 1,
        answers=np.where(labels >= 2, labels - 1, 0).astype(np.uint8),  # 0 = ignore label
        ratings=np.full(n_examples, -1),
        sources=np.full(n_examples, f"{split.parent.name}/{split.name}", dtype=object),
        groups=group_of_puzzle[puzzle_of_example],
    )


def _owners(indices: np.ndarray, n_items: int, path: Path) -> np.ndarray:
    """For cumulative ``indices`` (K + 1,), the owner 0..K-1 of each of the ``n_items`` items."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim != 1 or len(indices) == 0 or indices[0] != 0 or indices[-1] != n_items:
        raise PuzzleFormatError(str(path), 0, f"must be cumulative indices from 0 to {n_items}")
    sizes = np.diff(indices)
    if (sizes < 0).any():
        raise PuzzleFormatError(str(path), 0, "indices must not decrease")
    return np.repeat(np.arange(len(sizes)), sizes)


def check_target(folder: str | Path, overwrite: bool = False) -> None:
    """Refuse a destination before any work: anything already there, unless it is a reference
    dataset folder and ``overwrite`` is given (raises ``FileExistsError``)."""
    folder = Path(folder)
    if folder.exists() and not (overwrite and is_reference_folder(folder)):
        why = (
            "use overwrite"
            if is_reference_folder(folder)
            else "and is not a reference dataset folder"
        )
        raise FileExistsError(f"{folder}: already exists ({why}); refusing to overwrite")


def write_reference(
    folder: str | Path,
    splits: Splits,
    n_aug: int = 0,
    rng: np.random.Generator | None = None,
    overwrite: bool = False,
) -> None:
    """Export to the reference layout, adding ``n_aug`` shuffles per training puzzle (needs
    ``rng``)."""
    folder = Path(folder)
    if n_aug < 0 or (n_aug > 0 and rng is None):
        raise ValueError("n_aug must be >= 0, and augmenting needs an explicit rng")
    check_target(folder, overwrite)
    for name, part in (("train", splits.train), ("test", splits.test)):
        if part is not None and not part.has_answer.all():
            row = int(np.argmin(part.has_answer))
            raise ValueError(
                f"{name} row {row + 1} has no answer; the reference layout needs labels"
            )
    temp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    try:
        _write_split(temp / "train", splits.train, n_aug, rng)
        if splits.test is not None:
            _write_split(temp / "test", splits.test, 0, rng)
        (temp / "identifiers.json").write_text(json.dumps(["<blank>"]))
        _replace(temp, folder)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _write_split(
    split: Path, puzzles: PuzzleSet, n_aug: int, rng: np.random.Generator | None
) -> None:
    """One split: each row followed by its shuffles, rows gathered by group (stable)."""
    copies = [(puzzles.questions, puzzles.answers)]
    for _ in range(n_aug):
        shuffled = shuffle(puzzles.questions, puzzles.answers, rng)
        copies.append((shuffled.questions, shuffled.answers))
    # (N, 1 + n_aug, 81) -> rows ordered original, copy 1, ..., copy n_aug for each puzzle
    questions = np.stack([q for q, _ in copies], axis=1).reshape(-1, N_CELLS)
    answers = np.stack([a for _, a in copies], axis=1).reshape(-1, N_CELLS)
    groups = np.repeat(puzzles.groups, 1 + n_aug)
    order = np.argsort(groups, kind="stable")
    groups = groups[order]
    n = len(order)
    starts = (
        np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
        if n
        else np.zeros(0, np.int64)
    )
    group_indices = np.concatenate([starts, [n]]).astype(np.int32)
    arrays = {
        "inputs": (questions[order] + 1).astype(np.uint8),
        "labels": (answers[order] + 1).astype(np.uint8),
        "puzzle_identifiers": np.zeros(n, np.int32),
        "puzzle_indices": np.arange(n + 1, dtype=np.int32),
        "group_indices": group_indices,
    }
    split.mkdir(parents=True)
    n_groups = len(group_indices) - 1
    metadata = {**_FIXED_METADATA, "total_groups": n_groups, "total_puzzles": n_groups}
    (split / "dataset.json").write_text(json.dumps(metadata))
    for name, array in arrays.items():
        np.save(split / f"all__{name}.npy", array)


def _replace(new: Path, folder: Path) -> None:
    """Move ``new`` into place; an old reference folder there is moved aside first, then removed."""
    if not folder.exists():
        os.replace(new, folder)
        return
    old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
    os.replace(folder, old)
    os.replace(new, folder)
    shutil.rmtree(old)
