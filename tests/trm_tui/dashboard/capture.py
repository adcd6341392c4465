"""Text captures of each dashboard tab for the README:
``python -m tests.trm_tui.dashboard.capture OUT [RUN_DIR]``.

Runs the app headless at 100x32 on the fixture run and writes ``OUT/<tab>.txt`` (plain text)
and ``OUT/<tab>.svg``. The solve tab shows RUN_DIR's model on the first sample puzzle when a
run directory is given, else a made-up three-step trace (no model needed).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

from trm_tui.dashboard.app import Dashboard
from trm_tui.dashboard.screens.solve import SolveDone, sample_puzzles
from trm_tui.dashboard.solving import ModelCache, SolveTrace, trace_puzzle
from trm_tui.dashboard.source import FileSource

from .helpers import copy_run, screen_text
from .test_solve_and_start import _fake_trace

SIZE = (100, 32)


async def capture(out: Path, model_run: Path | None = None) -> list[Path]:
    """Write a capture of every tab into ``out``; return the text files."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        copy_run(runs, "cpu-cgar-20261125-134645")
        copy_run(runs, "cpu-baseline-20261125-150000", n_lines=24)
        app = Dashboard(FileSource(runs, poll_s=0.05, scan_s=0.2))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(1.5)
            steps = {
                "runs": [],
                "training": ["down", "space", "up", "enter"],
                "solve": ["3"],
                "solve-step": ["right", "right"],
                "start": ["4"],
            }
            for name, keys in steps.items():
                if keys:
                    await pilot.press(*keys)
                if name == "solve":
                    app.post_message(SolveDone(await _trace(model_run)))
                await pilot.pause(1.5)
                (out / f"{name}.txt").write_text(screen_text(app))
                (out / f"{name}.svg").write_text(
                    app.export_screenshot(title=f"trm dashboard: {name}")
                )
                written.append(out / f"{name}.txt")
    return written


async def _trace(model_run: Path | None) -> SolveTrace:
    if model_run is None:
        return _fake_trace()
    puzzle = sample_puzzles()[0].grid
    return await asyncio.to_thread(trace_puzzle, ModelCache(), model_run, puzzle)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "captures")
    run = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    for path in asyncio.run(capture(target, run)):
        print(path)
