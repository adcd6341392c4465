"""PuzzleSet, the streaming Sudoku-Extreme CSV reader and atomic writer, and load_dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from puzzles.dataset import (
    CsvWriter,
    PuzzleSet,
    concat,
    iter_csv,
    load_dataset,
    read_csv,
    read_puzzle_set,
    write_csv,
)
from puzzles.grid import from_line
from puzzles.parse import PuzzleFormatError

SAMPLE = Path(__file__).parents[2] / "puzzles" / "samples" / "top1465-sample.csv"
WIKI = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
WIKI_ANSWER = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"


@pytest.fixture(scope="module")
def sample() -> PuzzleSet:
    return read_csv(SAMPLE)


def test_sample_csv_reads_with_answers_ratings_and_sources(sample: PuzzleSet) -> None:
    assert len(sample) == 50
    assert sample.questions.dtype == np.uint8 and sample.questions.shape == (50, 81)
    assert sample.has_answer.all()
    assert sample.ratings[0] == 29 and (sample.ratings >= 0).all()
    assert set(sample.sources) == {"puzzles3_magictour_top1465"}
    np.testing.assert_array_equal(sample.groups, np.arange(50))


def test_csv_round_trip_keeps_everything(sample: PuzzleSet, tmp_path: Path) -> None:
    mixed = concat([sample[:5], PuzzleSet.from_grids(sample.questions[5:8], source="plain")])
    write_csv(tmp_path / "out.csv", mixed)
    back = read_csv(tmp_path / "out.csv")
    for field in ("questions", "answers", "ratings"):
        np.testing.assert_array_equal(getattr(back, field), getattr(mixed, field))
    assert back.sources.tolist() == ["puzzles3_magictour_top1465"] * 5 + ["plain"] * 3
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "source,question,answer,rating"
    assert lines[-1].endswith(",,") and "." in lines[-1]  # unknown answer and rating stay empty


def test_streaming_chunks_equal_the_whole_read(sample: PuzzleSet) -> None:
    chunks = list(iter_csv(SAMPLE, chunk_rows=7))
    assert [len(c) for c in chunks] == [7] * 7 + [1]
    joined = concat(chunks)
    np.testing.assert_array_equal(joined.questions, sample.questions)
    np.testing.assert_array_equal(joined.ratings, sample.ratings)


def test_blank_lines_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(
        f"source,question,answer,rating\r\nwiki,{WIKI},{WIKI_ANSWER},12\r\n\r\nwiki,{WIKI},,".encode()
    )
    puzzles = read_csv(path)
    assert len(puzzles) == 2
    np.testing.assert_array_equal(puzzles.answers[0], from_line(WIKI_ANSWER))
    assert puzzles.ratings.tolist() == [12, -1] and puzzles.has_answer.tolist() == [True, False]


# Bad rows and their messages: tests/puzzles/test_reading.py, for every reader at once.


def test_line_numbers_count_across_chunks_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    rows = [f"w,{WIKI},," for _ in range(10)] + [f"w,{WIKI[:80]},,"]
    path.write_text("# comment\nsource,question,answer,rating\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        PuzzleFormatError, match=r"bad\.csv:13: question has 80 cells, expected 81$"
    ):
        list(iter_csv(path, chunk_rows=4))


def test_missing_header_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text(f"w,{WIKI},,\n")
    with pytest.raises(
        PuzzleFormatError,
        match=r"noheader\.csv:1: unexpected header 'w,53.*'; expected source,question",
    ):
        read_csv(path)
    with pytest.raises(PuzzleFormatError, match=r"nope\.csv: no such file$"):
        read_csv(tmp_path / "nope.csv")


def test_writer_is_atomic_and_refuses_to_overwrite(sample: PuzzleSet, tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text("precious\n")
    with pytest.raises(FileExistsError):
        write_csv(path, sample)
    assert path.read_text() == "precious\n"
    write_csv(path, sample[:3], overwrite=True)
    assert len(read_csv(path)) == 3
    fresh = tmp_path / "stream.csv"
    with pytest.raises(RuntimeError), CsvWriter(fresh) as writer:
        writer.write(sample[:2])
        raise RuntimeError("interrupted")
    assert not fresh.exists() and list(tmp_path.iterdir()) == [path]  # no partial or temp file
    with CsvWriter(fresh) as writer:
        writer.write(sample[:2])
        writer.write(sample[2:5])
    assert len(read_csv(fresh)) == 5


def test_writer_rejects_sources_that_would_need_quoting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="commas"):
        write_csv(tmp_path / "x.csv", PuzzleSet.from_grids(from_line(WIKI), source="a,b"))
    assert not (tmp_path / "x.csv").exists()


def test_take_slice_concat_and_groups(sample: PuzzleSet) -> None:
    picked = sample.take([3, 1])
    np.testing.assert_array_equal(picked.questions, sample.questions[[3, 1]])
    assert picked.groups.tolist() == [3, 1]
    assert len(sample[10:20]) == 10 and len(sample[sample.ratings > 10]) == int(
        (sample.ratings > 10).sum()
    )
    joined = concat([sample[:2], sample[:2]])
    assert joined.groups.tolist() == [0, 1, 2, 3] and joined.n_groups == 4
    with pytest.raises(ValueError, match=r"PuzzleSet\.answers"):
        PuzzleSet(sample.questions, sample.answers[:3], sample.ratings, sample.sources)


def test_load_dataset_accepts_csv_pair_folder_and_text(sample: PuzzleSet, tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", sample[:30])
    write_csv(tmp_path / "test.csv", sample[30:])
    (tmp_path / "puzzles.txt").write_text(WIKI + "\n")
    single = load_dataset(tmp_path / "train.csv")
    assert len(single.train) == 30 and single.test is None
    pair = load_dataset(f"{tmp_path / 'train.csv'},{tmp_path / 'test.csv'}")
    folder = load_dataset(tmp_path)
    for splits in (pair, folder):
        assert len(splits.train) == 30 and splits.test is not None and len(splits.test) == 20
    text = load_dataset(tmp_path / "puzzles.txt")
    assert len(text.train) == 1 and not text.train.has_answer.any()
    assert len(read_puzzle_set(SAMPLE)) == 50
    (tmp_path / "empty").mkdir()
    with pytest.raises(PuzzleFormatError, match="neither"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(PuzzleFormatError, match="no such file"):
        load_dataset(tmp_path / "missing.csv")
