"""`trm solve` through Typer's CliRunner on a tiny checkpoint saved by the test: JSON schema,
halting, step display, TTA summary, the default checkpoint, and bad input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from engine.checkpoint import save_checkpoint
from engine.model import TRM
from engine.presets import tiny
from tests.engine.test_data import make_puzzles
from trm_tui.solve_cli import solve_command

N_SUP = 4  # the tiny preset's N_sup
runner = CliRunner()
app = typer.Typer()
app.command()(solve_command)


def save_tiny_model(path: Path, halt_bias: float) -> Path:
    """A fresh tiny TRM in our checkpoint format; ``halt_bias`` fixes every row's halting logit."""
    cfg = tiny()
    torch.manual_seed(0)
    model = TRM(cfg.model)
    with torch.no_grad():
        model.q_head.weight.zero_()
        model.q_head.bias[0] = halt_bias
    save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict(), "step": 0})
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ckpt")
    return {
        "never": save_tiny_model(root / "never.pt", -10.0),
        "at_once": save_tiny_model(root / "at_once.pt", 10.0),
    }


def write_lines(path: Path, n: int) -> Path:
    questions, _ = make_puzzles(n, 30, 0)
    path.write_text("".join("".join(map(str, q)) + "\n" for q in questions))
    return path


def solve(*args: str) -> object:
    return runner.invoke(app, [str(a) for a in args])


def test_json_lines_follow_the_schema(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 3)
    result = solve(puzzles, "--checkpoint", checkpoints["never"], "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3  # one object per puzzle and nothing else on stdout
    for line in lines:
        obj = json.loads(line)
        assert {"puzzle", "steps", "halted_at", "final", "solved", "valid"} <= set(obj)
        assert len(obj["puzzle"]) == 81 and set(obj["puzzle"]) <= set("0123456789")
        assert len(obj["final"]) == 81 and set(obj["final"]) <= set("123456789")
        assert isinstance(obj["solved"], bool) and isinstance(obj["valid"], bool)
        assert obj["halted_at"] == N_SUP == len(obj["steps"])
        for t, step in enumerate(obj["steps"], start=1):
            assert set(step) == {"step", "grid", "q_halt_logit", "changed"}
            assert step["step"] == t and len(step["grid"]) == 81
            assert step["q_halt_logit"] == pytest.approx(-10.0)
            assert isinstance(step["changed"], int) and 0 <= step["changed"] <= 81
        assert obj["steps"][-1]["grid"] == obj["final"]
        assert obj["steps"][0]["changed"] >= 30  # the 30 empty cells are filled at step 1
    assert "solved 0/3" in result.stderr  # the summary goes to stderr


def test_halt_stops_at_the_first_confident_step(
    tmp_path: Path, checkpoints: dict[str, Path]
) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 2)
    halting = solve(puzzles, "--checkpoint", checkpoints["at_once"], "--json")
    assert [json.loads(line)["halted_at"] for line in halting.stdout.splitlines()] == [1, 1]
    full = solve(puzzles, "--checkpoint", checkpoints["at_once"], "--json", "--no-halt")
    assert [len(json.loads(line)["steps"]) for line in full.stdout.splitlines()] == [N_SUP] * 2
    short = solve(puzzles, "--checkpoint", checkpoints["never"], "--json", "--max-steps", "2")
    assert [json.loads(line)["halted_at"] for line in short.stdout.splitlines()] == [2, 2]


def test_show_steps_draws_every_step(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 1)
    result = solve(puzzles, "--checkpoint", checkpoints["never"], "--show-steps")
    assert result.exit_code == 0, result.output
    for t in range(1, N_SUP + 1):
        assert f"step {t}/{N_SUP} · halt p=0.00" in result.stdout
    assert result.stdout.count("┌───────┬") == N_SUP
    assert "✗ invalid" in result.stdout or "✓ solved" in result.stdout
    assert "solved 0/1" in result.stdout and "puzzles/s model" in result.stdout


def test_final_boards_for_few_puzzles_summary_only_for_many(
    tmp_path: Path, checkpoints: dict[str, Path]
) -> None:
    few = solve(write_lines(tmp_path / "few.txt", 2), "--checkpoint", checkpoints["at_once"])
    assert few.stdout.count("┌───────┬") == 2 and "answer of step 1 · halt p=1.00" in few.stdout
    many = solve(write_lines(tmp_path / "many.txt", 21), "--checkpoint", checkpoints["at_once"])
    assert many.exit_code == 0 and "┌" not in many.stdout
    assert "solved 0/21 (0.0%) · valid" in many.stdout and "mean halting step 1.00" in many.stdout


def test_samples_report_the_vote(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 2)
    args = ["--checkpoint", checkpoints["at_once"], "--samples", "3", "--select", "vote"]
    result = solve(puzzles, *args, "--json")
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines():
        obj = json.loads(line)
        assert obj["samples"] == 3 and obj["selected"] is None and obj["select"] == "vote"
        assert 1 / 3 <= obj["agreement"] <= 1.0
        assert obj["steps_spent"] == 3  # every sample halts at step 1; the vote waits for all
    assert "samples x3 (vote): 3.00 steps spent per puzzle" in result.stderr
    shown = solve(puzzles, *args)
    assert "voted over 3 samples · agreement" in shown.stdout


def test_json_reports_the_samples(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 2)
    args = ["--checkpoint", checkpoints["never"], "--samples", "4", "--max-steps", "3"]
    result = solve(puzzles, *args, "--json", "--select", "halt-first")
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines():
        obj = json.loads(line)
        assert obj["samples"] == 4 and obj["select"] == "halt-first"
        assert obj["selected"] == 0  # none fired, all logits equal: the first sample
        assert obj["steps_spent"] == 4 * 3  # nothing decided early: every sample ran 3 steps
        assert len(obj["per_sample"]) == 4
        for sample in obj["per_sample"]:
            assert sample["halted_at"] == 3 and sample["fired"] is False
            assert sample["valid"] is False and sample["q_halt_logit"] == pytest.approx(-10.0)
    halting = solve(puzzles, "--checkpoint", checkpoints["at_once"], "--samples", "4", "--json")
    for line in halting.stdout.splitlines():
        obj = json.loads(line)
        # valid by default; nothing valid, so halt-first: all fired at step 1, and left then.
        assert obj["select"] == "valid" and obj["steps_spent"] == 4
        assert [s["fired"] for s in obj["per_sample"]] == [True] * 4


def test_show_steps_says_which_sample(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 1)
    result = solve(
        puzzles, "--checkpoint", checkpoints["at_once"], "--samples", "2", "--show-steps"
    )
    assert result.exit_code == 0, result.output
    assert "sample 1/2 selected (valid: halting head) · 2 steps spent" in result.stdout


def test_bad_sampling_options_are_one_line_errors(
    tmp_path: Path, checkpoints: dict[str, Path]
) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 1)
    for args, message in (
        (["--select", "best"], "--select: must be one of halt-first, valid, vote"),
        (["--noise", "-0.5"], "--noise: must be >= 0"),
        (["--samples", "0"], "--samples: must be >= 1"),
    ):
        result = solve(puzzles, "--checkpoint", checkpoints["never"], *args)
        assert result.exit_code == 2 and message in result.output, result.output


GOLDEN = Path(__file__).parent / "golden"
# The model the golden files were written with: the one shipped until issue 14 retrained it
# (the same bytes as that engine/models/sudoku-cpu.pt; git stores the blob once).
GOLDEN_MODEL = GOLDEN / "sudoku-cpu-v1.pt"


def _one_sample_on_golden_input(*flags: str) -> str:
    """`trm solve` with one sample at fp32, the golden model, on the golden input: its stdout."""
    given = (GOLDEN / "solve_input.txt").read_text()
    args = ["-", "--checkpoint", str(GOLDEN_MODEL), "--precision", "fp32", "--samples", "1", *flags]
    result = runner.invoke(app, args, input=given)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(
    ("flags", "golden"), [((), "solve_boards.txt"), (("--show-steps",), "solve_steps.txt")]
)
def test_one_sample_prints_what_trm_solve_printed_before_samples(
    flags: tuple[str, ...], golden: str
) -> None:
    """The golden files are `trm solve` output from before --samples existed (commit 79116a4):
    the then shipped model at fp32 on three easy and three generated puzzles."""
    stdout = _one_sample_on_golden_input(*flags)
    expected = (GOLDEN / golden).read_text().splitlines()
    # The last line holds timings and the device; everything else must be identical.
    assert stdout.splitlines()[:-1] == expected[:-1]


def test_one_sample_json_keeps_every_field_it_had() -> None:
    stdout = _one_sample_on_golden_input("--json")
    before = [json.loads(line) for line in (GOLDEN / "solve_json.txt").read_text().splitlines()]
    now = [json.loads(line) for line in stdout.splitlines()]
    assert len(now) == len(before)
    for old, new in zip(before, now, strict=True):
        for key, value in old.items():
            if key == "steps":
                for o, n in zip(value, new[key], strict=True):
                    assert {**o, "q_halt_logit": 0} == {**n, "q_halt_logit": 0}
                    assert n["q_halt_logit"] == pytest.approx(o["q_halt_logit"], abs=1e-4)
            else:
                assert new[key] == value, key
        assert new["samples"] == 1 and new["selected"] == 0
        assert new["steps_spent"] == new["halted_at"] == new["per_sample"][0]["halted_at"]


def test_reads_standard_input(checkpoints: dict[str, Path]) -> None:
    questions, _ = make_puzzles(1, 30, 0)
    line = "".join(map(str, questions[0]))
    result = runner.invoke(
        app, ["-", "--checkpoint", str(checkpoints["never"]), "--json"], input=line + "\n"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["puzzle"] == line


def test_default_checkpoint_is_the_latest_run(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    run = tmp_path / "runs" / "tiny-cgar-1" / "checkpoints"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(checkpoints["at_once"].read_bytes())
    puzzles = write_lines(tmp_path / "p.txt", 1)
    result = solve(puzzles, "--json", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["halted_at"] == 1


def test_without_runs_the_shipped_model_is_used(
    tmp_path: Path, checkpoints: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.shipped.SHIPPED", checkpoints["at_once"])
    puzzles = write_lines(tmp_path / "p.txt", 1)
    result = solve(puzzles, "--json", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["halted_at"] == 1


def test_no_checkpoint_says_how_to_train_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.shipped.SHIPPED", tmp_path / "not-shipped.pt")
    puzzles = write_lines(tmp_path / "p.txt", 1)
    result = solve(puzzles, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert "no trained model found" in result.stderr and "trm train --cgar" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("# two puzzles\n" + "1" * 81 + "\n")
    result = solve(bad, "--checkpoint", checkpoints["never"])
    assert result.exit_code == 2 and f"{bad}:2:" in result.stderr
    missing = solve(tmp_path / "nope.txt", "--checkpoint", checkpoints["never"])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    assert solve(empty, "--checkpoint", checkpoints["never"]).exit_code == 2
    not_a_checkpoint = tmp_path / "notes.pt"
    not_a_checkpoint.write_text("hello")
    broken = solve(write_lines(tmp_path / "p.txt", 1), "--checkpoint", not_a_checkpoint)
    assert broken.exit_code == 2 and str(not_a_checkpoint) in broken.stderr
    no_file = solve(write_lines(tmp_path / "p.txt", 1), "--checkpoint", tmp_path / "none.pt")
    assert no_file.exit_code == 2 and "no such checkpoint" in no_file.stderr
    zero = solve(write_lines(tmp_path / "p.txt", 1), "--max-steps", "0")
    assert zero.exit_code == 2 and "--max-steps: must be >= 1" in zero.stderr


def test_depth_flags_change_the_recursion(tmp_path: Path, checkpoints: dict[str, Path]) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 2)
    saved = solve(puzzles, "--checkpoint", checkpoints["never"], "--json")
    shallow = solve(
        puzzles, "--checkpoint", checkpoints["never"], "--json", "--n-latent", 1, "--n-cycles", 1
    )
    assert shallow.exit_code == 0, shallow.output
    # The untrained network's answers depend on how often it is applied.
    assert shallow.stdout != saved.stdout
    again = solve(puzzles, "--checkpoint", checkpoints["never"], "--json", "--n-latent", 2)
    assert again.stdout == saved.stdout  # the tiny preset's saved n is 2


def test_a_fresh_install_solves_a_sample_with_the_shipped_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.shipped import SHIPPED

    monkeypatch.chdir(tmp_path)  # no runs/ here: the model inside the package is the default
    sample = Path(__file__).parents[2] / "puzzles" / "samples" / "easy.txt"
    result = solve(sample, "--show-steps")
    assert result.exit_code == 0, result.output
    assert SHIPPED.name in result.stdout
    assert "step 1/" in result.stdout and "selected (valid" in result.stdout
    verdicts = [result.stdout.count(v) for v in ("✓ solved", "✗ wrong", "✗ invalid")]
    assert sum(verdicts) == 5  # a verdict for each of the file's five puzzles
    assert verdicts[0] >= 2  # it was trained on easier puzzles (28-46 givens), yet solves some


STUCK = "12345678." + "........9" + "." * 63  # row 1 holds 1-8 and its last cell's box holds 9


def test_cells_right_counts_only_puzzles_that_have_a_solution(
    tmp_path: Path, checkpoints: dict[str, Path]
) -> None:
    from puzzles.grid import conflicts, from_line
    from puzzles.solver import solve_batch

    stuck = from_line(STUCK)[None]
    assert not conflicts(stuck).any() and solve_batch(stuck, limit=1).n_solutions[0] == 0
    alone = tmp_path / "stuck.txt"
    alone.write_text(STUCK + "\n")
    result = solve(alone, "--checkpoint", checkpoints["never"], "--precision", "fp32")
    assert result.exit_code == 0, result.output
    assert "cells right n/a (no puzzle has a solution)" in result.stdout
    assert "note: 0 puzzles have several solutions, 1 have none" in result.stdout
    mixed = write_lines(tmp_path / "mixed.txt", 2)
    mixed.write_text(mixed.read_text() + STUCK + "\n")
    fixed = ("--checkpoint", checkpoints["never"], "--precision", "fp32")
    rows = [json.loads(line) for line in solve(mixed, *fixed, "--json").stdout.splitlines()]
    assert [r["n_solutions"] for r in rows] == [1, 1, 0] and rows[2]["n_wrong"] == -1
    right = 1 - (rows[0]["n_wrong"] + rows[1]["n_wrong"]) / (2 * 81)
    summary = solve(mixed, *fixed).stdout
    assert f"cells right {right:.1%} of 2 puzzles with a solution" in summary


def test_an_unavailable_device_is_named_as_the_option(
    tmp_path: Path, checkpoints: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    puzzles = write_lines(tmp_path / "p.txt", 1)
    result = solve(puzzles, "--checkpoint", checkpoints["never"], "--device", "cuda")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["trm: error: --device: 'cuda' requested but CUDA is not available"]


def test_an_unknown_precision_is_named_as_the_option(
    tmp_path: Path, checkpoints: dict[str, Path]
) -> None:
    puzzles = write_lines(tmp_path / "p.txt", 1)
    result = solve(puzzles, "--checkpoint", checkpoints["never"], "--precision", "fp8")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "trm: error: --precision: unknown precision 'fp8' (use auto, fp32 or bf16)"
    ]
