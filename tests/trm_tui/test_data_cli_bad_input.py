"""`trm data` on bad input: an output that is a directory, a file without puzzles, endless or
binary input; each refused in one line before any work, with nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.trm_tui.test_data_cli import SAMPLES, one_line_error, run


def _no_work(*args: object, **kwargs: object) -> None:
    raise AssertionError("the command started working before checking its output")


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make generating, solving and loading fail: a command must refuse its output before them."""
    for target in ("puzzles.generate.generate", "puzzles.solver.solve_batch"):
        monkeypatch.setattr(target, _no_work)
    monkeypatch.setattr("puzzles.dataset.load_dataset", _no_work)


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_an_output_that_is_a_directory_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, force: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    folder, csv_folder, plain = tmp_path / "out", tmp_path / "out.csv", tmp_path / "plain"
    folder.mkdir()
    csv_folder.mkdir()
    plain.write_text("mine\n")
    source = SAMPLES / "top1465-sample.csv"
    cases = [
        (["generate", "--count", "2", "--out", folder], f"{folder}: is a directory"),
        (["label", SAMPLES / "famous.txt", "--out", folder], f"{folder}: is a directory"),
        (["import", source, "--out", csv_folder], f"{csv_folder}: is a directory"),
        (
            ["import", source, "--out", f"{tmp_path / 'a.csv'},{csv_folder}"],
            f"{csv_folder}: is a directory",
        ),
        (
            ["generate", "--count", "2", "--out", tmp_path / "none" / "x.csv"],
            f"{tmp_path / 'none'}: no such folder",
        ),
    ]
    if force:
        cases.append(
            (
                ["import", source, "--out", plain],
                f"{plain}: already exists (and is not a reference dataset folder); "
                "refusing to overwrite",
            )
        )
    before = sorted(tmp_path.rglob("*"))
    for args, message in cases:
        code, _, err = run("data", *args, *force)
        assert code == 2 and one_line_error(err) == message, args
    assert sorted(tmp_path.rglob("*")) == before
    assert plain.read_text() == "mine\n"


@pytest.mark.parametrize(
    "content",
    ["", "# nothing here\n\n", "source,question,answer,rating\n"],
    ids=["empty", "comment", "csv-header"],
)
def test_a_file_without_puzzles_exits_2_everywhere_and_writes_nothing(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(content)
    for args in (
        ["info", path],
        ["import", path, "--out", tmp_path / "x.csv"],
        ["import", path, "--out", tmp_path / "ref"],
        ["label", path, "--out", tmp_path / "l.csv"],
    ):
        code, _, err = run("data", *args)
        assert code == 2 and one_line_error(err) == f"{path}: no puzzles found", args
    code, _, err = run("data", "label", "-", "--out", tmp_path / "l.csv", stdin=content)
    assert code == 2 and one_line_error(err) == "<stdin>: no puzzles found"
    assert list(tmp_path.iterdir()) == [path]


def _limit_memory() -> None:
    """Cap the child's address space, so that a reader that never stops fails fast and alone."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("stdin", [True, False], ids=["stdin", "path"])
def test_endless_binary_input_is_refused_in_one_line(tmp_path: Path, stdin: bool) -> None:
    target = tmp_path / "l.csv"
    name = "-" if stdin else "/dev/zero"
    with open("/dev/zero", "rb") as zeros:
        done = subprocess.run(
            [sys.executable, "-m", "trm_tui.cli", "data", "label", name, "--out", str(target)],
            stdin=zeros,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_limit_memory,
        )
    shown = "<stdin>" if stdin else "/dev/zero"
    assert done.returncode == 2, done.stderr[-2000:]
    assert (
        one_line_error(done.stderr)
        == f"{shown}:1: binary data (a NUL byte in column 1); not a puzzle file"
    )
    assert not target.exists()


def test_a_binary_file_is_refused_in_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    for args in (
        ["info", binary],
        ["import", binary, "--out", tmp_path / "x.csv"],
        ["label", binary, "--out", tmp_path / "x.csv"],
    ):
        code, _, err = run("data", *args)
        assert code == 2
        assert one_line_error(err) == f"{binary}:1: not UTF-8 text (byte 0x89 in column 1)"
    assert list(tmp_path.iterdir()) == [binary]
