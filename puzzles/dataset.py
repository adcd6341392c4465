"""Datasets: loading training/test puzzle sets from any supported place.

``load_dataset`` accepts a Sudoku-Extreme CSV (:mod:`puzzles.csv_format`), a ``train.csv,test.csv``
pair, a folder holding ``train.csv`` (and ``test.csv``), the TRM reference builder's folder
layout (:mod:`puzzles.reference`), or a plain puzzle file in any form :mod:`puzzles.parse` reads.
The set type and the CSV functions are re-exported so callers need one import.
"""

from __future__ import annotations

from pathlib import Path

from puzzles.csv_format import CsvWriter, iter_csv, read_csv, write_csv
from puzzles.parse import PuzzleFormatError, read_rows
from puzzles.puzzle_set import PuzzleSet, Splits, concat
from puzzles.reference import is_reference_folder, read_reference

__all__ = [
    "CsvWriter",
    "PuzzleSet",
    "Splits",
    "concat",
    "iter_csv",
    "load_dataset",
    "read_csv",
    "read_puzzle_set",
    "write_csv",
]


def read_puzzle_set(path: str | Path) -> PuzzleSet:
    """Read a CSV or any text puzzle form (see :mod:`puzzles.parse`) into a set."""
    return read_rows(path).puzzles


def load_dataset(path: str | Path) -> Splits:
    """Load a CSV, a ``train.csv,test.csv`` pair or folder, a reference folder, or a puzzle file."""
    text = str(path)
    folder = Path(text)
    if not folder.exists() and "," in text:
        train, test = text.split(",", 1)
        return Splits(read_puzzle_set(train), read_puzzle_set(test))
    if folder.is_dir():
        if is_reference_folder(folder):
            return read_reference(folder)
        if (folder / "train.csv").is_file():
            test = folder / "test.csv"
            return Splits(
                read_csv(folder / "train.csv"), read_csv(test) if test.is_file() else None
            )
        raise PuzzleFormatError(text, 0, "folder holds neither train/dataset.json nor train.csv")
    if not folder.exists() and text != "-":
        raise PuzzleFormatError(text, 0, "no such file or folder")
    return Splits(read_puzzle_set(path), None)
