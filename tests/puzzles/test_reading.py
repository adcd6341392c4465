"""One reader for every puzzle file: bounded reading (binary content, endless or overlong lines),
empty files, quoted CSV and wrong headers refused alike by every entry point, and the vectorised
81-character-line path agreeing with the general one across block boundaries."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from puzzles import text_input
from puzzles.augment import shuffle
from puzzles.dataset import load_dataset, read_csv, read_puzzle_set
from puzzles.grid import from_line, to_line
from puzzles.info import describe
from puzzles.parse import PuzzleFormatError, parse_text, read_puzzles

WIKI = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
WIKI_ANSWER = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
HEADER = "source,question,answer,rating"


def every_reader(path: Path) -> dict[str, Callable[[], object]]:
    """Each library entry point that reads a puzzle file, by name."""
    return {
        "read_puzzles": lambda: read_puzzles(path),
        "read_puzzle_set": lambda: read_puzzle_set(path),
        "load_dataset": lambda: load_dataset(path),
        "describe": lambda: describe(path),
    }


def errors_of(path: Path) -> set[str]:
    """The error message of every reader on ``path`` (a set: one element when they agree)."""
    messages = set()
    for name, read in every_reader(path).items():
        with pytest.raises(PuzzleFormatError) as caught:
            read()
        messages.add(str(caught.value))
        assert caught.value.source == str(path), name
    return messages


def valid_puzzles(n: int, seed: int = 0) -> np.ndarray:
    """(n, 81) distinct valid puzzles: random symmetric copies of the Wikipedia puzzle."""
    grids = np.tile(from_line(WIKI), (n, 1))
    return shuffle(grids, grids, np.random.default_rng(seed)).questions


class EndlessZeros(io.RawIOBase):
    """A binary stream of NUL bytes without end, like /dev/zero, that fails past ``limit`` bytes
    read, so a reader that does not stop early fails the test instead of exhausting memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.n_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.n_read >= self.limit:
            raise RuntimeError(f"read {self.n_read} bytes of an endless stream without stopping")
        n = len(buffer)
        buffer[:n] = bytes(n)
        self.n_read += n
        return n


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            WIKI.encode() + b"\n\0\0\0\n",
            "2: binary data (a NUL byte in column 1); not a puzzle file",
        ),
        (
            f"{HEADER}\nw,{WIKI},,\n".encode() + b"w,\0,,\n",
            "3: binary data (a NUL byte in column 3); not a puzzle file",
        ),
        (b"\0" * 5_000_000, "1: binary data (a NUL byte in column 1); not a puzzle file"),
        (
            WIKI.encode() + b"\n" + b"5" * 3_000_000,
            "2: line longer than 65536 bytes; not a puzzle file",
        ),
        (
            b"# note\n" + b"1" * 100_000 + b"\n" + WIKI.encode() + b"\n",
            "2: line longer than 65536 bytes; not a puzzle file",
        ),
        (WIKI.encode() + b"\n" + b"\xff\xfe5\n", "2: not UTF-8 text (byte 0xff in column 1)"),
    ],
    ids=["nul-text", "nul-csv", "all-nul", "endless-line", "long-line", "not-utf8"],
)
def test_binary_and_overlong_input_is_refused_by_every_reader(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    assert errors_of(path) == {f"{path}:{expected}"}


def test_an_endless_stream_on_stdin_is_refused_after_one_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = EndlessZeros(limit=64 << 20)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(stream)))
    with pytest.raises(PuzzleFormatError) as caught:
        read_puzzles("-")
    assert str(caught.value) == "<stdin>:1: binary data (a NUL byte in column 1); not a puzzle file"
    assert stream.n_read <= 2 * text_input.BLOCK_BYTES


@pytest.mark.parametrize(
    "content",
    ["", "\n\n", "# only a comment\n", f"{HEADER}\n", f"# a set\n{HEADER}\n\n"],
    ids=["empty", "blank", "comment", "csv-header", "csv-header-blank"],
)
def test_a_file_without_puzzles_is_refused_by_every_reader(tmp_path: Path, content: str) -> None:
    path = tmp_path / "nothing.txt"
    path.write_text(content)
    assert errors_of(path) == {f"{path}: no puzzles found"}
    assert parse_text(content, "typed") == []  # text typed in the dashboard: simply nothing


def test_quoted_csv_is_refused_the_same_by_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text(f'{HEADER}\nw,{WIKI},,\n"w","{WIKI}",,\n')
    expected = f"{path}:3: quoted CSV fields are not supported; write the file without quotes"
    assert errors_of(path) == {expected}
    with pytest.raises(PuzzleFormatError) as caught:
        read_csv(path)
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("header", "shown"),
    [("foo,bar", None), (f"w,{WIKI},,", f"w,{WIKI[:38]}..."), ("source,puzzle", None)],
    ids=["foo-bar", "no-header", "no-question"],
)
def test_a_wrong_csv_header_says_what_it_should_be(
    tmp_path: Path, header: str, shown: str | None
) -> None:
    path = tmp_path / "table.csv"
    path.write_text(f"# made by hand\n{header}\nw,{WIKI},,\n")
    expected = f"{path}:2: unexpected header {(shown or header)!r}; expected {HEADER}"
    assert errors_of(path) == {expected}
    with pytest.raises(PuzzleFormatError) as caught:
        read_csv(path)
    assert str(caught.value) == expected


@pytest.mark.parametrize("block_bytes", [200, 1000, 4096, text_input.BLOCK_BYTES])
def test_fast_lines_and_grids_mixed_read_the_same_across_blocks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, block_bytes: int
) -> None:
    monkeypatch.setattr(text_input, "BLOCK_BYTES", block_bytes)
    grids = valid_puzzles(400)
    rng = np.random.default_rng(1)
    out, lines = [], []
    for grid in grids:
        form = rng.integers(6)
        if form == 0:  # a 9-line grid with spaces
            lines.append(len(out) + 1)
            out += [" ".join(to_line(grid)[r * 9 : r * 9 + 9]) for r in range(9)]
        elif form == 1:
            out.append("# a comment line")
            out.append("")
            lines.append(len(out) + 1)
            out.append(to_line(grid, empty="0") + "  # trailing comment")
        else:
            lines.append(len(out) + 1)
            out.append(to_line(grid, empty="." if form < 4 else "0"))
    path = tmp_path / "mixed.txt"
    path.write_text("\r\n".join(out) + "\r\n")
    parsed = read_puzzles(path)
    assert [p.line for p in parsed] == lines
    np.testing.assert_array_equal(np.stack([p.grid for p in parsed]), grids)
    np.testing.assert_array_equal(read_puzzle_set(path).questions, grids)
    with pytest.raises(ValueError, match="read-only"):  # rows of one array: none may change
        parsed[0].grid[0] = 1


@pytest.mark.parametrize("position", [1, 2, 777, 1500])
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("55" + WIKI[2:], "digit 5 repeats in row 1"),
        ("5" + "." * 8 + "5" + "." * 71, "digit 5 repeats in column 1"),
        (WIKI[:40] + "x" + WIKI[41:], "unexpected character 'x' in column 41"),
        (WIKI[:-1], "expected 81 cells on one line or 9 per row, found 80"),
        (WIKI + "1", "expected 81 cells on one line or 9 per row, found 82"),
    ],
    ids=["row", "column", "stray", "short", "long"],
)
def test_a_bad_line_deep_in_a_long_file_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, position: int, bad: str, reason: str
) -> None:
    monkeypatch.setattr(text_input, "BLOCK_BYTES", 5000)
    lines = [to_line(g) for g in valid_puzzles(1500)]
    lines.insert(position - 1, bad)
    lines.append("55" + WIKI[2:])  # a second bad line: the first one is reported
    path = tmp_path / "long.txt"
    path.write_text("\n".join(lines) + "\n")
    assert errors_of(path) == {f"{path}:{position}: {reason}"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "\n".join([*[WIKI[i : i + 9] for i in range(0, 36, 9)], WIKI]),
            "5: expected 9 cells in a row, found 81",
        ),
        (
            "\n".join([WIKI, *[WIKI[i : i + 9] for i in range(0, 27, 9)], "", WIKI]),
            "2: grid ends after 3 rows (27 cells), expected 9 rows of 9",
        ),
    ],
    ids=["line-inside-grid", "blank-inside-grid"],
)
def test_81_character_lines_do_not_end_an_unfinished_grid(text: str, expected: str) -> None:
    with pytest.raises(PuzzleFormatError) as caught:
        parse_text(text + "\n", "x.txt")
    assert str(caught.value) == f"x.txt:{expected}"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f"w,{WIKI[:-1]},,", "question has 80 cells, expected 81"),
        (f"w,{WIKI[:-1]}x,,", "unexpected character 'x' in question"),
        (f"w,{WIKI},{WIKI_ANSWER[:-1]},", "answer must be 81 digits 1-9 (or empty)"),
        (f"w,{WIKI},{WIKI_ANSWER[:-1]}.,", "answer must be 81 digits 1-9 (or empty)"),
        (f"w,{WIKI},1{WIKI_ANSWER[1:]},", "answer is not a valid completed grid"),
        (
            f"w,{WIKI},{WIKI_ANSWER.translate(str.maketrans('12', '21'))},",
            "answer disagrees with the puzzle's givens",
        ),
        (f"w,{WIKI},,4x", "rating '4x' is not a non-negative integer"),
        (f"w,{WIKI},,-3", "rating '-3' is not a non-negative integer"),
        (f"w,{WIKI},,{'9' * 19}", f"rating '{'9' * 19}' is too large"),
        (f"w,55{WIKI[2:]},,", "digit 5 repeats in row 1"),
        (f"w,{WIKI},,,", "expected 4 fields like the header, found 5"),
        (f"w,{WIKI}", "expected 4 fields like the header, found 2"),
        (f'"w",{WIKI},,', "quoted CSV fields are not supported; write the file without quotes"),
    ],
)
@pytest.mark.parametrize("position", [0, 9])
def test_every_csv_reader_names_the_first_bad_row_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, row: str, reason: str, position: int
) -> None:
    monkeypatch.setattr(text_input, "BLOCK_BYTES", 300)
    rows = [f"w,{to_line(g)},," for g in valid_puzzles(12)]
    rows.insert(position, row)
    rows.append(f"w,{WIKI},,xx")  # a later row that is bad in another way: never reported
    text = f"{HEADER}\n" + "\n".join(rows) + "\n"
    path = tmp_path / "bad.csv"
    path.write_text(text)
    expected = f"{position + 2}: {reason}"
    assert errors_of(path) == {f"{path}:{expected}"}
    for read in (lambda: read_csv(path), lambda: parse_text(text, str(path))):
        with pytest.raises(PuzzleFormatError) as caught:
            read()
        assert str(caught.value) == f"{path}:{expected}"


def test_csv_comments_blank_lines_and_line_numbers_agree_between_readers(tmp_path: Path) -> None:
    text = (
        f"# a set\n\n{HEADER}\nw,{WIKI},{WIKI_ANSWER},3\n\n# between rows\n"
        f"v,{WIKI.replace('.', '0')},,\r\n   \n"
    )
    path = tmp_path / "set.csv"
    path.write_text(text)
    parsed = read_puzzles(path)
    assert [p.line for p in parsed] == [4, 7]
    assert [p.rating for p in parsed] == [3, None]
    table = read_csv(path)
    assert table.sources.tolist() == ["w", "v"] and table.ratings.tolist() == [3, -1]
    np.testing.assert_array_equal(table.questions, np.stack([p.grid for p in parsed]))


def test_a_csv_with_the_question_column_alone(tmp_path: Path) -> None:
    path = tmp_path / "questions.csv"
    path.write_text(f"question\n{WIKI}\n{WIKI.replace('.', '0')}\n")
    assert [p.line for p in read_puzzles(path)] == [2, 3]
    assert len(read_csv(path)) == 2 and not read_csv(path).has_answer.any()


def test_an_unreadable_file_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_text(WIKI + "\n")

    def refuse(file: object, mode: str) -> None:
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(text_input, "open", refuse, raising=False)  # as for a file of another user
    assert errors_of(path) == {f"{path}: cannot open: Permission denied"}


def test_long_source_fields_are_read_one_row_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    wide = "s" * 60_000
    path.write_text(f"{HEADER}\n{wide},{WIKI},,\nw,{WIKI},,\n{wide},{WIKI},,\n")
    sources = read_csv(path).sources
    assert sources.tolist() == [wide, "w", wide] and sources[0] is sources[2]
