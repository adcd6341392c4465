"""The solve view: pick a puzzle (bundled samples, a file, or typed) and step through the
model's supervision steps (next, previous, play/pause, first, last) with the board renderer of
`trm solve --show-steps` (``trm_tui.board``): changed cells, confidence, halting probability
per step and the verdict. The puzzle is solved as K samples, as `trm solve` does; a list shows
each one (steps run, halting probability, valid or not, which was selected) and up/down (j/k)
picks the one to step through, the selected one first. The model runs in a thread worker, never
on the UI thread."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

import puzzles.parse
from puzzles.grid import to_line
from puzzles.parse import ParsedPuzzle, PuzzleFormatError, parse_text, read_puzzles
from trm_tui.board import halt_probability, render_board, render_step
from trm_tui.dashboard.solving import SolveTrace
from trm_tui.dashboard.widgets.weights import BLOCKS

# From a submodule: run outside the repo, an editable install makes `puzzles` a namespace package.
SAMPLES = Path(puzzles.parse.__file__).parent / "samples"


class SolveDone(Message):
    """The worker traced a puzzle."""

    def __init__(self, trace: SolveTrace) -> None:
        super().__init__()
        self.trace = trace


class SolveFailed(Message):
    """The worker could not trace the puzzle (no checkpoint, a bad file...)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def sample_puzzles() -> list[ParsedPuzzle]:
    """The bundled sample puzzles, easy to hard."""
    found: list[ParsedPuzzle] = []
    for name in ("easy.txt", "medium.txt", "hard.txt", "famous.txt"):
        path = SAMPLES / name
        if path.is_file():
            found += read_puzzles(path)
    return found


class InputError(Exception):
    """What was typed names a path that is no puzzle file (``str()`` is the one-line reason)."""


def read_input(text: str) -> list[ParsedPuzzle]:
    """The puzzles of the solve tab's input: a file's if ``text`` names one, else ``text`` typed.

    A directory is refused (typed digits never name one). Text that cannot even be looked up
    as a path (a name too long for the filesystem, say) is typed text.
    """
    path = Path(text).expanduser()
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except (OSError, ValueError):  # no path at all: too long a name, a NUL byte
        is_dir = is_file = False
    if is_dir:
        raise InputError(f"{text}: is a directory, not a puzzle file")
    if not is_file:
        return parse_text(text, "<typed>")
    try:
        return read_puzzles(path)
    except OSError as e:  # a file that exists but cannot be read (no permission, an I/O error)
        raise InputError(f"{text}: cannot be read ({e.strerror or e})") from None


def halt_strip(trace: SolveTrace, step: int, sample: int | None = None) -> Text:
    """Halting probability per step as blocks; the shown step is underlined."""
    result = trace.sample(trace.selected if sample is None else sample)
    logits = result.q_halt_logit[0]
    last = int(result.halted_at[0])
    out = Text("halt p per step ", style="dim")
    for t in range(1, last + 1):
        p = halt_probability(float(logits[t - 1]))
        out.append(BLOCKS[max(1, round(p * 8))], style="bold reverse" if t == step else "green")
    return out


def samples_list(trace: SolveTrace, shown: int) -> Text:
    """One line per sample: steps run, final halting probability, valid or not, selected."""
    out = Text(
        f"{trace.n_samples} samples · {trace.rule} · {trace.steps_spent} steps spent\n",
        style="dim",
    )
    for j in range(trace.n_samples):
        result = trace.sample(j)
        ran = int(result.halted_at[0])
        p = halt_probability(float(result.q_halt_logit[0, ran - 1]))
        valid = trace.samples[j].valid if trace.samples else None
        mark = "" if valid is None else ("✓ valid  " if valid else "✗ invalid")
        line = f"{'▶' if j == shown else ' '} {j + 1:>2}  steps {ran:>2}  halt p {p:.2f}  {mark}"
        if j == trace.selected:
            line += "  ← selected"
        out.append(line + "\n", style="bold" if j == shown else "")
    return out


class SolvePane(Vertical):
    """Puzzle picker, board and step controls."""

    can_focus = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,n", "step(1)", "Next step"),
        Binding("left,p", "step(-1)", "Previous"),
        Binding("space", "play", "Play/pause"),
        Binding("home,g", "first", "First"),
        Binding("end,G", "last", "Last"),
        Binding("r", "solve", "Solve"),
        Binding("right_square_bracket", "puzzle(1)", "Next puzzle"),
        Binding("left_square_bracket", "puzzle(-1)", "Prev puzzle"),
        Binding("down,j", "sample(1)", "Next sample"),
        Binding("up,k", "sample(-1)", "Prev sample"),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.puzzles: list[ParsedPuzzle] = []
        self.index = 0
        self.trace: SolveTrace | None = None
        self.step = 1
        self.shown = 0  # the sample being stepped through
        self.player: Timer | None = None

    def compose(self) -> ComposeResult:
        """Input line, status, then the board beside the step strip."""
        yield Input(
            placeholder="puzzle: 81 digits/dots or a file path; enter to load", id="puzzle-input"
        )
        yield Static("", id="solve-status")
        with Horizontal(id="solve-body"), VerticalScroll():
            yield Static("", id="board")
            yield Static("", id="halt-strip")
            yield Static("", id="samples")

    def on_mount(self) -> None:
        """Start on the bundled samples."""
        self.puzzles = sample_puzzles()
        self.show_puzzle()

    @property
    def puzzle(self) -> ParsedPuzzle | None:
        """The puzzle being shown."""
        return self.puzzles[self.index] if self.puzzles else None

    def show_puzzle(self) -> None:
        """Show the picked puzzle's givens (before it is solved)."""
        self.trace, self.step = None, 1
        self._stop_player()
        puzzle = self.puzzle
        if puzzle is None:
            self._status("no puzzle: type one or a file path above")
            return
        where = f"{Path(puzzle.source).name}:{puzzle.line}"
        self._status(
            f"puzzle {self.index + 1}/{len(self.puzzles)} ({where}) · r solve · [ ] other puzzle"
        )
        self.query_one("#board", Static).update(render_board(puzzle.grid, puzzle.grid))
        self.query_one("#halt-strip", Static).update("")
        self.query_one("#samples", Static).update("")

    def _status(self, text: str) -> None:
        self.query_one("#solve-status", Static).update(Text(text))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Load the typed puzzle or file; a bad one is a notice naming what is wrong."""
        event.stop()
        text = event.value.strip()
        if not text:
            return
        try:
            found = read_input(text)
        except (PuzzleFormatError, InputError) as e:
            self._refuse(str(e))
            return
        if not found:
            self._refuse(f"{text}: no puzzle found")
            return
        self.puzzles, self.index = found, 0
        self.show_puzzle()
        self.focus()

    def _refuse(self, reason: str) -> None:
        """What was typed gives no puzzle: say why, on the status line and in a notice."""
        self._status(reason)
        self.app.notify(reason, severity="error")

    def action_puzzle(self, delta: int) -> None:
        """Show the next (or previous) puzzle of the list."""
        if self.puzzles:
            self.index = (self.index + delta) % len(self.puzzles)
            self.show_puzzle()

    def action_solve(self) -> None:
        """Ask the app to trace the current puzzle in a worker."""
        puzzle = self.puzzle
        if puzzle is not None:
            self._status(f"solving {to_line(puzzle.grid)[:27]}… (loading the model the first time)")
            self.app.solve_puzzle(puzzle.grid)  # type: ignore[attr-defined]

    def show_failure(self, reason: str) -> None:
        """The model could not be run: say so where the progress was shown."""
        self._status(f"not solved: {reason}")

    def show_trace(self, trace: SolveTrace) -> None:
        """A finished trace: show its first step."""
        self.trace, self.step, self.shown = trace, 1, trace.selected
        self._draw()

    def _draw(self) -> None:
        trace = self.trace
        if trace is None:
            return
        result = trace.sample(self.shown)
        board: RenderableType = render_step(result, 0, self.step, trace.solution)
        self.query_one("#board", Static).update(board)
        where = " · ".join(filter(None, [f"{trace.checkpoint} (step {trace.step})", trace.device]))
        keys = "←/→ step · space play · home/end · ↑/↓ sample · [ ] puzzle"
        self.query_one("#halt-strip", Static).update(
            Group(
                halt_strip(trace, self.step, self.shown),
                Text(where, style="dim"),
                Text(keys, style="dim"),
            )
        )
        self.query_one("#samples", Static).update(samples_list(trace, self.shown))
        which = f" · sample {self.shown + 1}/{trace.n_samples}" if trace.n_samples > 1 else ""
        self._status(
            f"puzzle {self.index + 1}/{len(self.puzzles)}{which} · "
            f"step {self.step}/{self.last_step}"
        )

    @property
    def last_step(self) -> int:
        """The step whose answer is final (1 before solving)."""
        return int(self.trace.sample(self.shown).halted_at[0]) if self.trace else 1

    def action_sample(self, delta: int) -> None:
        """Step through another of the puzzle's samples, from its first step."""
        if self.trace is None or self.trace.n_samples < 2:
            return
        self.shown = (self.shown + delta) % self.trace.n_samples
        self.step = 1
        self._draw()

    def action_step(self, delta: int) -> None:
        """Move ``delta`` supervision steps, within 1..last."""
        self.step = int(np.clip(self.step + delta, 1, self.last_step))
        self._draw()

    def action_first(self) -> None:
        """Jump to the first step."""
        self.step = 1
        self._draw()

    def action_last(self) -> None:
        """Jump to the final step (with the verdict)."""
        self.step = self.last_step
        self._draw()

    def action_play(self) -> None:
        """Play the steps twice a second, or pause."""
        if self.player is not None:
            self._stop_player()
            return
        if self.trace is None:
            return
        if self.step >= self.last_step:
            self.step = 1
        self.player = self.set_interval(0.5, self._advance)

    def _advance(self) -> None:
        if self.step >= self.last_step:
            self._stop_player()
            return
        self.action_step(1)

    def _stop_player(self) -> None:
        if self.player is not None:
            self.player.stop()
            self.player = None
