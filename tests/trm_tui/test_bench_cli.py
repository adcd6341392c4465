"""`trm bench ... --json` prints one object with the documented fields (tiny preset, --quick),
`trm --help` lists every command without importing torch, and bad options exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from trm_tui.cli import COMMANDS, app

runner = CliRunner()
COMMON = {"mode", "preset", "device", "threads", "torch", "repeats", "quick"}


def _bench(*args: str) -> dict:
    repeats = [] if args[0] == "memory" else ["--repeats", "1"]  # memory is not timed
    result = runner.invoke(app, ["bench", *args, "--json", "--quick", *repeats])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_train_json_fields() -> None:
    out = _bench("train", "--preset", "tiny", "--device", "cpu", "--precision", "fp32")
    assert set(out) == COMMON | {"batch_size", "peaks", "rows"}
    assert out["mode"] == "train" and out["preset"] == "tiny" and out["quick"] is True
    assert {p["dtype"] for p in out["peaks"]} == {"fp32", "bf16"}
    assert set(out["peaks"][0]) == {"dtype", "size", "flops_per_s", "native", "median_s", "iqr_s"}
    assert [(r["n"], r["T"]) for r in out["rows"]] == [(1, 1), (1, 2), (2, 2)]
    row_fields = {"n", "T", "precision", "compiled", "batch_size", "samples_per_s", "step_s",
                  "step_iqr_s", "flops_per_step", "flops_per_s", "mfu_fp32",
                  "mfu_bf16"}  # fmt: skip
    for row in out["rows"]:
        assert set(row) == row_fields and row["precision"] == "fp32" and not row["compiled"]
        assert row["samples_per_s"] > 0 and row["mfu_fp32"] > 0


@pytest.mark.slow
def test_train_both_precisions_give_each_depth_twice() -> None:
    out = _bench("train", "--preset", "tiny", "--device", "cpu", "--precision", "both")
    depths = [(1, 1), (1, 2), (2, 2)]
    assert [(r["precision"], r["n"], r["T"]) for r in out["rows"]] == [
        (p, n, t) for p in ("fp32", "bf16") for n, t in depths
    ]
    assert all(r["samples_per_s"] > 0 for r in out["rows"])


@pytest.mark.slow
def test_cgar_json_fields() -> None:
    out = _bench("cgar", "--preset", "tiny", "--device", "cpu")
    assert set(out) == COMMON | {"n_steps", "batch_size", "cgar_s", "fixed_s", "ratio",
                                 "ideal_ratio", "ideal_forward_ratio", "gap",
                                 "steps_per_stage"}  # fmt: skip
    assert out["n_steps"] == 4 and sum(out["steps_per_stage"]) == 4
    assert out["ratio"] == pytest.approx(out["fixed_s"] / out["cgar_s"])


@pytest.mark.slow
def test_solve_json_fields() -> None:
    out = _bench("solve", "--preset", "tiny", "--device", "cpu")
    assert set(out) == COMMON | {"checkpoint", "rows", "batched_speedup", "halt_time_saving",
                                 "halt_step_saving"}  # fmt: skip
    assert out["checkpoint"] is None
    assert [(r["batch_size"], r["halt"]) for r in out["rows"]] == [
        (1, False), (1, True), (4, False), (4, True)
    ]  # fmt: skip
    for row in out["rows"]:
        assert set(row) == {"batch_size", "halt", "puzzles_per_s", "batch_s", "batch_iqr_s",
                            "mean_steps"}  # fmt: skip
        assert row["mean_steps"] == 4.0  # untrained: halting never fires; tiny N_sup = 4


def test_solver_json_fields() -> None:
    out = _bench("solver")
    assert set(out) == COMMON | {"rows"}
    names = {r["set"] for r in out["rows"]}
    assert {"easy.txt", "famous.txt", "top1465-sample.csv"} <= names
    for row in out["rows"]:
        assert set(row) == {"set", "n_puzzles", "puzzles_per_s", "mean_rating"}
        assert row["n_puzzles"] > 0 and row["puzzles_per_s"] > 0


@pytest.mark.slow
def test_memory_json_fields() -> None:
    out = _bench("memory", "--preset", "tiny", "--device", "cpu")
    assert set(out) == COMMON | {"method", "bytes_per_sample", "steps", "growth"}
    assert [s["batch_size"] for s in out["steps"]] == [1, 2]
    assert set(out["growth"]) == {"n_steps", "after_n", "after_2n", "grows"}
    assert out["growth"]["grows"] is False


@pytest.mark.parametrize(
    "args",
    [["train", "--preset", "nope"], ["train", "--precision", "fp8", "--preset", "tiny"],
     ["cgar", "--device", "cuda:7"], ["solve", "--checkpoint", "no-such-run", "--preset", "tiny"]],
)  # fmt: skip
def test_bad_options_exit_2_with_one_line(args: list[str]) -> None:
    result = runner.invoke(app, ["bench", *args, "--quick"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trm: error:")


def test_help_lists_every_command_without_importing_torch() -> None:
    code = (
        "import sys, runpy; sys.argv = ['trm', '--help']\n"
        "try:\n    runpy.run_module('trm_tui.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules and 'rich' not in sys.modules, 'imported at --help'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout


def test_every_command_loads_and_has_help() -> None:
    for name in [*COMMANDS, "bench ablation", "bench train"]:
        result = runner.invoke(app, [*name.split(), "--help"])
        assert result.exit_code == 0, (name, result.output)
