"""Parsing every accepted text form, and rejecting bad input with FILE:LINE messages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from puzzles.grid import from_line
from puzzles.parse import PuzzleFormatError, parse_text, read_puzzles

WIKI = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
WIKI_ANSWER = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
GRID = from_line(WIKI)


def rows_of(line: str, empty: str = ".") -> list[str]:
    """The 9 rows of an 81-character puzzle, empty cells written as ``empty``."""
    line = line.replace(".", empty)
    return [line[i : i + 9] for i in range(0, 81, 9)]


def boxed(line: str) -> str:
    """The ``5 3 . | . 7 . | . . .`` form with ``------+-------+------`` rules."""
    out = []
    for r, row in enumerate(rows_of(line)):
        out.append(" | ".join(" ".join(row[c : c + 3]) for c in (0, 3, 6)))
        if r in (2, 5):
            out.append("------+-------+------")
    return "\n".join(out)


def framed(line: str) -> str:
    """The ``+-------+`` framed ASCII form."""
    rule = "+-------+-------+-------+"
    out = [rule]
    for r, row in enumerate(rows_of(line)):
        out.append("| " + " | ".join(" ".join(row[c : c + 3]) for c in (0, 3, 6)) + " |")
        if r in (2, 5, 8):
            out.append(rule)
    return "\n".join(out)


@pytest.mark.parametrize("empty", [".", "0", "_", "*"])
def test_81_character_lines_with_any_empty_mark(empty: str) -> None:
    text = WIKI.replace(".", empty) + "\n" + WIKI.replace(".", empty) + "\n"
    puzzles = parse_text(text, "x.txt")
    assert len(puzzles) == 2
    assert [p.line for p in puzzles] == [1, 2]
    for p in puzzles:
        np.testing.assert_array_equal(p.grid, GRID)
        assert p.answer is None and p.rating is None and p.source == "x.txt"


@pytest.mark.parametrize(
    "text",
    [
        "\n".join(rows_of(WIKI)),
        "\n".join(rows_of(WIKI, "0")),
        "\n".join(" ".join(row) for row in rows_of(WIKI)),
        boxed(WIKI),
        framed(WIKI),
    ],
    ids=["plain", "zeros", "spaced", "boxed", "framed"],
)
def test_grid_forms(text: str) -> None:
    (puzzle,) = parse_text(text)
    np.testing.assert_array_equal(puzzle.grid, GRID)


def test_several_puzzles_comments_and_blank_lines_keep_first_lines() -> None:
    text = (
        "# a header\n\n"
        + boxed(WIKI)
        + "\n\n# the next one\n"
        + framed(WIKI)
        + "\n"
        + WIKI
        + "  # tail\n"
    )
    puzzles = parse_text(text, "many.txt")
    # a puzzle's line is that of its first row of cells (the framed one starts with a rule line)
    assert [p.line for p in puzzles] == [3, 17, 29]
    assert all((p.grid == GRID).all() for p in puzzles)


def test_comment_lines_inside_a_grid_are_skipped() -> None:
    rows = rows_of(WIKI)
    (puzzle,) = parse_text("\n".join([*rows[:4], "# halfway", *rows[4:]]))
    np.testing.assert_array_equal(puzzle.grid, GRID)


def test_grids_back_to_back_without_blank_lines() -> None:
    text = "\n".join(rows_of(WIKI) + rows_of(WIKI))
    assert [p.line for p in parse_text(text)] == [1, 10]


def test_windows_line_endings_and_byte_order_mark() -> None:
    (puzzle,) = parse_text("\ufeff" + "\r\n".join(rows_of(WIKI)) + "\r\n")
    np.testing.assert_array_equal(puzzle.grid, GRID)


def test_sudoku_extreme_csv_with_and_without_answers() -> None:
    text = (
        "source,question,answer,rating\n"
        f"wiki,{WIKI},{WIKI_ANSWER},0\n"
        f"wiki,{WIKI},,\n"
        f"wiki,{WIKI.replace('.', '0')},,7\n"
    )
    puzzles = parse_text(text, "set.csv")
    assert [p.line for p in puzzles] == [2, 3, 4]
    np.testing.assert_array_equal(puzzles[0].answer, from_line(WIKI_ANSWER))
    assert [p.rating for p in puzzles] == [0, None, 7]
    assert puzzles[1].answer is None


def test_csv_extra_columns_and_comment_lines_are_accepted() -> None:
    text = f"# note\nsource,question,answer,rating,clues\nwiki,{WIKI},{WIKI_ANSWER},3,30\n"
    (puzzle,) = parse_text(text, "set.csv")
    assert puzzle.line == 3 and puzzle.rating == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WIKI[:-1] + "\n", "x.txt:1: expected 81 cells on one line or 9 per row, found 80"),
        ("# c\n" + WIKI + "7\n", "x.txt:2: expected 81 cells on one line or 9 per row, found 82"),
        (WIKI[:40] + "x" + WIKI[41:] + "\n", "x.txt:1: unexpected character 'x' in column 41"),
        (
            "\n".join(rows_of(WIKI)[:8]) + "\n",
            "x.txt:1: grid ends after 8 rows (72 cells), expected 9 rows of 9",
        ),
        (
            "\n".join(rows_of(WIKI)[:3]) + "\n\n" + WIKI,
            "x.txt:1: grid ends after 3 rows (27 cells), expected 9 rows of 9",
        ),
        ("\n".join(rows_of(WIKI)[:4]) + "\n1234\n", "x.txt:5: expected 9 cells in a row, found 4"),
        ("55" + WIKI[2:] + "\n", "x.txt:1: digit 5 repeats in row 1"),
        (
            WIKI + "\n" + "5" * 1 + "." * 8 + "5" + "." * 71 + "\n",
            "x.txt:2: digit 5 repeats in column 1",
        ),
        ("5" + "." * 9 + "5" + "." * 70 + "\n", "x.txt:1: digit 5 repeats in box 1"),
    ],
    ids=[
        "short",
        "long",
        "stray",
        "eight-rows",
        "cut-by-blank",
        "short-row",
        "row",
        "column",
        "box",
    ],
)
def test_bad_text_is_rejected_with_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(PuzzleFormatError) as caught:
        parse_text(text, "x.txt")
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f"wiki,{WIKI[:-1]},,", "question has 80 cells, expected 81"),
        (f"wiki,{WIKI[:-1]}x,,", "unexpected character 'x' in question"),
        (f"wiki,{WIKI},{WIKI_ANSWER[:-1]},", "answer must be 81 digits 1-9 (or empty)"),
        (f"wiki,{WIKI},1{WIKI_ANSWER[1:]},", "answer is not a valid completed grid"),
        (f"wiki,{WIKI},{'123456789' * 9},", "answer is not a valid completed grid"),
        (f"wiki,{WIKI},,-3", "rating '-3' is not a non-negative integer"),
        (f"wiki,{WIKI},,", None),
        (f"wiki,{WIKI}", "expected 4 fields like the header, found 2"),
    ],
)
def test_bad_csv_rows_name_file_and_line(row: str, reason: str | None) -> None:
    text = f"source,question,answer,rating\nwiki,{WIKI},,\n{row}\n"
    if reason is None:
        assert len(parse_text(text, "set.csv")) == 2
        return
    with pytest.raises(PuzzleFormatError) as caught:
        parse_text(text, "set.csv")
    assert str(caught.value) == f"set.csv:3: {reason}"


def test_answer_disagreeing_with_givens_is_rejected() -> None:
    swapped = WIKI_ANSWER.translate(str.maketrans("12", "21"))  # still a valid grid
    with pytest.raises(
        PuzzleFormatError, match=re.escape("set.csv:2: answer disagrees with the puzzle's givens")
    ):
        parse_text(f"source,question,answer,rating\nw,{WIKI},{swapped},\n", "set.csv")


def test_unsolvable_puzzle_is_rejected_only_when_checked(tmp_path: Path) -> None:
    # no rule is broken, but cell 9 (row 1) can hold nothing: 1-8 in its row, 9 in its column
    stuck = "12345678." + "........9" + "." * 63
    path = tmp_path / "stuck.txt"
    path.write_text("# stuck\n" + WIKI + "\n" + stuck + "\n")
    assert len(read_puzzles(path)) == 2
    with pytest.raises(PuzzleFormatError) as caught:
        read_puzzles(path, check_solvable=True)
    assert str(caught.value) == f"{path}:3: puzzle has no solution"


def test_read_puzzles_from_text_stdin_and_missing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert read_puzzles("given.txt", text=WIKI)[0].source == "given.txt"
    monkeypatch.setattr("sys.stdin", io.StringIO(boxed(WIKI)))
    (puzzle,) = read_puzzles("-")
    assert puzzle.source == "<stdin>" and (puzzle.grid == GRID).all()
    with pytest.raises(PuzzleFormatError, match=r"^.*nothing\.txt: no such file$"):
        read_puzzles(tmp_path / "nothing.txt")
    with pytest.raises(PuzzleFormatError, match="is a directory"):
        read_puzzles(tmp_path)
