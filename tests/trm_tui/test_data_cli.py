"""`trm data generate / import / label / info` through Typer's CliRunner, and torch-free imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from puzzles.dataset import read_csv
from puzzles.grid import is_complete_solution
from puzzles.solver import rate
from trm_tui.cli import app

SAMPLES = Path(__file__).parents[2] / "puzzles" / "samples"
WIKI = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
runner = CliRunner()


def run(*args: str | Path, stdin: str | None = None) -> tuple[int, str, str]:
    """Invoke ``trm``; exit code, stdout, stderr."""
    result = runner.invoke(app, [str(a) for a in args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(stderr: str) -> str:
    """The error line, after checking that stderr holds exactly one."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("trm: error: ")
    return lines[0].removeprefix("trm: error: ")


def test_generate_writes_a_seeded_labelled_csv(tmp_path: Path) -> None:
    code, out, _ = run("data", "generate", "--count", 4, "--seed", 3, "--out", tmp_path / "a.csv")
    assert code == 0 and "wrote 4 puzzles" in out
    made = read_csv(tmp_path / "a.csv")
    assert len(made) == 4 and is_complete_solution(made.answers).all() and (made.ratings >= 0).all()
    run("data", "generate", "--count", 4, "--seed", 3, "--out", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_generate_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    target.write_text("mine\n")
    code, _, err = run("data", "generate", "--count", 2, "--out", target)
    assert (
        code == 2 and one_line_error(err) == f"{target}: already exists (use --force to overwrite)"
    )
    assert target.read_text() == "mine\n"
    code, _, _ = run("data", "generate", "--count", 2, "--out", target, "--force")
    assert code == 0 and len(read_csv(target)) == 2


def test_generate_min_clues_spreads_givens_and_rerates(tmp_path: Path) -> None:
    target = tmp_path / "easy.csv"
    code, _, _ = run(
        "data", "generate", "-n", 12, "--seed", 5, "--min-clues", "40-44", "-o", target
    )
    minimal = tmp_path / "minimal.csv"
    run("data", "generate", "-n", 12, "--seed", 5, "-o", minimal)
    assert code == 0
    easy, base = read_csv(target), read_csv(minimal)
    givens = (easy.questions > 0).sum(axis=1)
    assert givens.min() >= 40 and givens.max() <= 44 and len(set(givens.tolist())) > 1
    # Same puzzles with answer cells added back: the givens of the minimal ones are kept.
    kept = base.questions > 0
    assert (easy.questions[kept] == base.questions[kept]).all()
    assert (easy.answers == base.answers).all()
    revealed = easy.questions > 0
    assert (easy.questions[revealed] == easy.answers[revealed]).all()
    # Ratings are of the revealed puzzles, not copied from the minimal ones.
    assert (easy.ratings == rate(easy.questions)).all()
    assert (easy.ratings != base.ratings).any()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "--count must be at least 1, got 0"),
        (["--count", "2", "--max-clues", "5"], "max_clues must be in 17..81, got 5"),
        (
            ["--count", "2", "--min-clues", "50-40"],
            "--min-clues must lie in 0..81 with LO <= HI, got '50-40'",
        ),
        (["--count", "2", "--min-clues", "many"], "--min-clues must be N or LO-HI, got 'many'"),
    ],
)
def test_generate_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = run("data", "generate", *args, "--out", tmp_path / "x.csv")
    assert code == 2 and one_line_error(err) == message
    assert not (tmp_path / "x.csv").exists()


def test_import_csv_to_reference_and_back(tmp_path: Path) -> None:
    source = SAMPLES / "top1465-sample.csv"
    code, out, _ = run("data", "import", source, "--out", tmp_path / "ref", "--aug", 2, "--seed", 1)
    assert code == 0 and "train 150 rows (50 groups)" in out
    meta = json.loads((tmp_path / "ref" / "train" / "dataset.json").read_text())
    assert meta["total_groups"] == 50 and np.load(
        tmp_path / "ref" / "train" / "all__inputs.npy"
    ).shape == (150, 81)
    code, out, _ = run("data", "import", tmp_path / "ref", "--out", tmp_path / "back.csv")
    assert code == 0
    back = read_csv(tmp_path / "back.csv")
    np.testing.assert_array_equal(back.questions[::3], read_csv(source).questions)


def test_import_pairs_and_its_errors(tmp_path: Path) -> None:
    source = SAMPLES / "top1465-sample.csv"
    pair = f"{source},{source}"
    assert run("data", "import", pair, "--out", tmp_path / "ref")[0] == 0
    code, _, err = run("data", "import", tmp_path / "ref", "--out", tmp_path / "one.csv")
    assert code == 2 and "has a test split; give --out TRAIN.csv,TEST.csv" in one_line_error(err)
    code, _, _ = run(
        "data", "import", tmp_path / "ref", "--out", f"{tmp_path / 'tr.csv'},{tmp_path / 'te.csv'}"
    )
    assert code == 0 and len(read_csv(tmp_path / "te.csv")) == 50
    code, _, err = run("data", "import", source, "--out", tmp_path / "x.csv", "--aug", 3)
    assert code == 2 and "--aug applies to reference-folder output only" in one_line_error(err)
    code, _, err = run("data", "import", tmp_path / "missing.csv", "--out", tmp_path / "r2")
    assert (
        code == 2 and one_line_error(err) == f"{tmp_path / 'missing.csv'}: no such file or folder"
    )


def test_import_of_unlabelled_puzzles_to_reference_is_refused(tmp_path: Path) -> None:
    code, _, err = run("data", "import", SAMPLES / "easy.txt", "--out", tmp_path / "ref")
    assert code == 2 and "has no answer" in one_line_error(err)
    assert not (tmp_path / "ref").exists()


def test_label_solves_rates_and_skips_puzzles_without_a_unique_solution(tmp_path: Path) -> None:
    text = "# two puzzles\n" + WIKI + "\n" + "." * 81 + "\n"
    (tmp_path / "p.txt").write_text(text)
    code, out, err = run("data", "label", tmp_path / "p.txt", "--out", tmp_path / "l.csv")
    assert code == 0 and "wrote 1 labelled puzzles" in out
    assert (
        err.strip()
        == f"trm: warning: {tmp_path / 'p.txt'}:3: puzzle has more than one solution; skipped"
    )
    labelled = read_csv(tmp_path / "l.csv")
    assert len(labelled) == 1 and labelled.has_answer.all() and labelled.ratings[0] == 0
    code, _, err = run("data", "label", tmp_path / "p.txt", "--out", tmp_path / "s.csv", "--strict")
    assert (
        code == 2
        and one_line_error(err) == f"{tmp_path / 'p.txt'}:3: puzzle has more than one solution"
    )
    assert not (tmp_path / "s.csv").exists()


def test_label_reads_stdin_and_reports_bad_input(tmp_path: Path) -> None:
    code, _, _ = run("data", "label", "-", "--out", tmp_path / "l.csv", stdin=WIKI + "\n")
    assert code == 0 and read_csv(tmp_path / "l.csv").sources.tolist() == ["stdin"]
    code, _, err = run("data", "label", "-", "--out", tmp_path / "m.csv", stdin=WIKI[:-1] + "\n")
    assert (
        code == 2
        and one_line_error(err) == "<stdin>:1: expected 81 cells on one line or 9 per row, found 80"
    )
    stuck = "12345678." + "........9" + "." * 63
    code, _, err = run("data", "label", "-", "--out", tmp_path / "n.csv", stdin=stuck + "\n")
    assert code == 2 and err.splitlines() == [
        "trm: warning: <stdin>:1: puzzle has no solution; skipped",
        "trm: error: <stdin>: no puzzle has a unique solution; nothing written",
    ]


def test_info_prints_tables_and_overlap(tmp_path: Path) -> None:
    code, out, _ = run(
        "data", "info", SAMPLES / "top1465-sample.csv", "--test", SAMPLES / "hard.txt"
    )
    assert code == 0
    for title in (
        "Puzzle set",
        "Givens per puzzle",
        "Rating (solver guesses)",
        "Sources",
        "Test puzzles also in the training set",
    ):
        assert title in out
    assert "identical" in out


def test_info_on_a_bad_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text(WIKI + "\n" + WIKI[:50] + "\n")
    code, _, err = run("data", "info", tmp_path / "bad.txt")
    assert code == 2 and one_line_error(err).startswith(f"{tmp_path / 'bad.txt'}:2: ")


def test_every_sample_file_holds_puzzles_with_one_solution() -> None:
    from puzzles.parse import read_puzzles
    from puzzles.solver import solve_batch

    files = sorted(
        p
        for p in SAMPLES.iterdir()
        if p.suffix in (".txt", ".csv") and not p.name.startswith("LICENSE")
    )
    assert {p.name for p in files} == {
        "easy.txt",
        "medium.txt",
        "hard.txt",
        "famous.txt",
        "top1465-sample.csv",
    }
    for path in files:
        assert path.read_text().startswith("#"), path  # each says what it is and where it is from
        puzzles = read_puzzles(path)
        solved = solve_batch(np.stack([p.grid for p in puzzles]), limit=2)
        assert (solved.n_solutions == 1).all(), path
        for puzzle, solution in zip(puzzles, solved.solutions, strict=True):
            assert puzzle.answer is None or (puzzle.answer == solution).all()


def test_data_commands_never_import_torch(tmp_path: Path) -> None:
    script = f"""
import sys
from typer.testing import CliRunner
import trm_tui.cli
assert 'torch' not in sys.modules, 'import'
runner = CliRunner()
samples = {str(SAMPLES)!r}
out = {str(tmp_path)!r}
for args in (
    ["data", "--help"],
    ["data", "generate", "--count", "2", "--out", out + "/g.csv"],
    ["data", "import", samples + "/top1465-sample.csv", "--out", out + "/ref"],
    ["data", "label", samples + "/famous.txt", "--out", out + "/l.csv"],
    ["data", "info", samples + "/famous.txt"],
):
    result = runner.invoke(trm_tui.cli.app, args)
    assert result.exit_code == 0, (args, result.output)
    assert 'torch' not in sys.modules, args
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            f'source,question,answer,rating\n"wiki","{WIKI}",,\n',
            "2: quoted CSV fields are not supported; write the file without quotes",
        ),
        (
            f"foo,bar\nwiki,{WIKI}\n",
            "1: unexpected header 'foo,bar'; expected source,question,answer,rating",
        ),
    ],
    ids=["quoted", "wrong-header"],
)
def test_label_info_import_and_training_data_read_a_csv_alike(
    tmp_path: Path, content: str, reason: str
) -> None:
    from puzzles.dataset import load_dataset
    from puzzles.parse import PuzzleFormatError

    path = tmp_path / "table.csv"
    path.write_text(content)
    expected = f"{path}:{reason}"
    for args in (
        ["info", path],
        ["import", path, "--out", tmp_path / "x.csv"],
        ["label", path, "--out", tmp_path / "l.csv"],
    ):
        code, _, err = run("data", *args)
        assert code == 2 and one_line_error(err) == expected, args
    with pytest.raises(PuzzleFormatError) as caught:
        load_dataset(path)
    assert str(caught.value) == expected
    assert list(tmp_path.iterdir()) == [path]


def test_label_keeps_the_sources_of_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(f"source,question,answer,rating\nwiki,{WIKI},,\nbook,{WIKI},,\n")
    code, _, _ = run("data", "label", path, "--out", tmp_path / "l.csv")
    assert code == 0 and read_csv(tmp_path / "l.csv").sources.tolist() == ["wiki", "book"]
