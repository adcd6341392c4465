"""The solve tab (stepping through a trace; a real tiny model) and starting/stopping a run."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from textual.widgets import Button, Input

from puzzles.csv_format import write_csv
from puzzles.puzzle_set import PuzzleSet
from puzzles.solver import solve as exact_solve
from tests.engine.test_data import make_puzzles
from trm_tui.dashboard.app import Dashboard
from trm_tui.dashboard.screens.solve import SolveDone, SolvePane, sample_puzzles
from trm_tui.dashboard.solving import SampleLine, SolveTrace
from trm_tui.dashboard.source import FileSource

from .helpers import record_notices, screen_text, show_tab, submit_puzzle, wait_until


def _app(root: Path) -> Dashboard:
    return Dashboard(FileSource(root, poll_s=0.05, scan_s=0.5))


def _fake_trace() -> SolveTrace:
    """Three supervision steps on the first sample: half the blanks, all but one, solved."""
    puzzle = sample_puzzles()[0].grid
    solution = exact_solve(puzzle).solution
    assert solution is not None
    blanks = np.flatnonzero(puzzle == 0)
    half, almost = solution.copy(), solution.copy()
    half[blanks[: len(blanks) // 2]] = 0
    almost[blanks[0]] = solution[blanks[0]] % 9 + 1  # one wrong digit
    result = SimpleNamespace(
        puzzles=puzzle[None],
        grids=np.stack([half, almost, solution])[None].astype(np.uint8),
        confidence=np.full((1, 3, 81), 0.9, dtype=np.float32),
        q_halt_logit=np.array([[-4.0, -1.0, 3.0]], dtype=np.float32),
        halted_at=np.array([3]),
        final=solution[None],
    )
    return SolveTrace(result, solution, Path("runs/x/checkpoints/best.pt"), 100)


async def test_solve_view_steps_forward_and_back(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await show_tab(pilot, "3", "solve")
        pane = app.query_one(SolvePane)
        assert len(pane.puzzles) >= 5  # the bundled samples
        app.post_message(SolveDone(_fake_trace()))
        await wait_until(pilot, lambda: "step 1/3 · halt p=0.02" in screen_text(app))
        await pilot.press("right")
        await wait_until(pilot, lambda: "step 2/3 · halt p=0.27" in screen_text(app))
        assert pane.step == 2 and "solved" not in screen_text(app)
        await pilot.press("end")
        await wait_until(pilot, lambda: "✓ solved" in screen_text(app))
        assert pane.step == 3
        await pilot.press("right", "left")  # right stays on the last step, left goes back one
        await wait_until(pilot, lambda: "step 2/3" in screen_text(app), "one step back")
        await pilot.press("home")
        await wait_until(pilot, lambda: "step 1/3" in screen_text(app), "the first step")
        await pilot.press("right_square_bracket")  # another puzzle clears the trace
        await wait_until(pilot, lambda: pane.index == 1 and pane.trace is None, "the next puzzle")


def _fake_samples() -> SolveTrace:
    """Three samples of the first sample puzzle: the second (solved at step 3) is selected; the
    third ran one step and halted with a wrong answer."""
    selected = _fake_trace()
    puzzle, solution = selected.result.puzzles[0], selected.solution
    wrong = solution.copy()
    wrong[np.flatnonzero(puzzle == 0)[0]] = solution[np.flatnonzero(puzzle == 0)[0]] % 9 + 1

    def one_step(grid: np.ndarray, q: float) -> SimpleNamespace:
        return SimpleNamespace(
            puzzles=puzzle[None],
            grids=grid[None, None].astype(np.uint8),
            confidence=np.full((1, 1, 81), 0.5, dtype=np.float32),
            q_halt_logit=np.array([[q]], dtype=np.float32),
            halted_at=np.array([1]),
            final=grid[None],
        )

    samples = (
        SampleLine(one_step(wrong, -2.0), valid=False),
        SampleLine(selected.result, valid=True),
        SampleLine(one_step(wrong, 2.0), valid=False),
    )
    return SolveTrace(
        selected.result,
        solution,
        selected.checkpoint,
        selected.step,
        samples=samples,
        selected=1,
        rule="valid",
        steps_spent=5,
    )


async def test_the_samples_list_shows_each_sample_and_steps_through_any(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        pane = app.query_one(SolvePane)
        app.post_message(SolveDone(_fake_samples()))
        await wait_until(pilot, lambda: "3 samples · valid · 5 steps spent" in screen_text(app))
        text = screen_text(app)
        assert "   1  steps  1  halt p 0.12  ✗ invalid" in text
        assert "▶  2  steps  3  halt p 0.95  ✓ valid    ← selected" in text
        assert "   3  steps  1  halt p 0.88  ✗ invalid" in text
        assert "sample 2/3 · step 1/3" in text  # the selected sample is shown first
        await pilot.press("down")
        await wait_until(pilot, lambda: "▶  3  steps  1" in screen_text(app))
        assert pane.shown == 2 and pane.last_step == 1
        assert "sample 3/3 · step 1/1" in screen_text(app)
        await pilot.press("down", "end")  # wraps round to the first sample
        assert pane.shown == 0 and pane.step == 1
        await pilot.press("up", "up")
        assert pane.shown == 1 and pane.last_step == 3


async def test_a_typed_bad_puzzle_is_a_notice(tmp_path: Path) -> None:
    app = _app(tmp_path)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await submit_puzzle(pilot, "12345")
        await wait_until(pilot, lambda: any("<typed>" in n for n in notices))


@pytest.mark.slow
async def test_solve_view_runs_a_trained_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trm_tui.cli import app as trm_app

    questions, answers = make_puzzles(8, blanks=30, seed=1)
    data = tmp_path / "p.csv"
    write_csv(data, PuzzleSet.from_grids(questions, answers))
    run = tmp_path / "runs" / "tiny"
    argv = ["train", "--preset", "tiny", "--data", str(data), "--run-dir", str(run)]
    trained = CliRunner().invoke(trm_app, [*argv, "--set", "train.max_steps=2"])
    assert trained.exit_code == 0, trained.output
    app = _app(tmp_path / "runs")
    async with app.run_test(size=(100, 32)) as pilot:
        await show_tab(pilot, "3", "solve")
        pane = app.query_one(SolvePane)
        await wait_until(pilot, lambda: app.focused is pane, "the solve view focused")
        await pilot.press("r")
        await wait_until(pilot, lambda: pane.trace is not None, tries=5000)
        assert pane.trace is not None and pane.trace.checkpoint.parent == run / "checkpoints"
        last = pane.last_step
        assert 1 <= last <= 4  # tiny: N_sup = 4
        await pilot.press("end")
        await wait_until(pilot, lambda: f"step {last}/{last}" in screen_text(app))
        assert any(word in screen_text(app) for word in ("solved", "wrong", "invalid"))


@pytest.mark.slow
async def test_start_and_stop_a_tiny_run(tmp_path: Path) -> None:
    questions, answers = make_puzzles(8, blanks=30, seed=1)
    data = tmp_path / "p.csv"
    write_csv(data, PuzzleSet.from_grids(questions, answers))
    runs = tmp_path / "runs"
    runs.mkdir()
    app = _app(runs)
    async with app.run_test(size=(100, 32)) as pilot:
        await show_tab(pilot, "4", "start")
        app.query_one("#data", Input).value = str(data)
        app.query_one("#sets", Input).value = "train.max_steps=100000 train.eval_every=100000"
        await pilot.click("#start-run")
        await wait_until(pilot, lambda: bool(app.launched))
        process = app.launched[0]
        try:
            assert process.run_dir.parent == runs and app.primary == process.run_dir
            await wait_until(
                pilot, lambda: bool(app.histories[process.run_dir].train["loss"].steps), tries=5000
            )
            await show_tab(pilot, "4", "start")
            stop = app.query_one("#stop-run", Button)
            await wait_until(pilot, lambda: not stop.disabled, "the stop button enabled")
            await pilot.click("#stop-run")
            await wait_until(
                pilot, lambda: app.histories[process.run_dir].run_end != {}, tries=5000
            )
        finally:
            process.stop()  # a no-op when the stop button already sent SIGINT
            try:
                process.process.wait(timeout=300)
            except subprocess.TimeoutExpired:
                process.process.kill()  # never leave a training process behind the test
                raise
        assert process.stop_sent
        assert app.histories[process.run_dir].run_end["reason"] == "interrupted"
        assert process.process.returncode == 130
        assert (process.run_dir / "checkpoints" / "latest.pt").is_file()
        await wait_until(pilot, lambda: "exited (130)" in screen_text(app))
