"""`trm data ...`: make (generate), convert (import), solve and rate (label), describe (info).

Thin wrappers over :mod:`puzzles`; every import of it happens inside the commands so that
`trm --help` stays fast, and nothing here imports torch. Bad input ends in one line through
:func:`trm_tui.errors.fail` (exit 2); existing outputs are never overwritten without ``--force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from trm_tui.data_tables import print_report
from trm_tui.errors import EXIT_INTERRUPTED, fail

if TYPE_CHECKING:
    import numpy as np

    from puzzles.dataset import PuzzleSet

app = typer.Typer(
    help="Make, convert, solve and rate, and describe puzzle sets.", no_args_is_help=True
)
# markup off: file names and puzzle text may hold [brackets] that rich would take for styles
_stdout = Console(highlight=False, soft_wrap=True, markup=False)
_stderr = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def _check_output(path: Path, force: bool, folder: bool = False) -> None:
    """Refuse an output before any work: a folder where a CSV goes, a missing parent folder, or
    something already there (unless --force, and then only what may be replaced)."""
    from puzzles.csv_format import check_target as check_csv
    from puzzles.reference import check_target as check_folder

    try:
        (check_folder if folder else check_csv)(path, overwrite=force)
    except FileExistsError as error:
        fail(str(error) if force else f"{path}: already exists (use --force to overwrite)")
    except OSError as error:  # a folder where a file goes, a missing parent folder
        fail(str(error))


@app.command("generate")
def generate_command(
    count: Annotated[int, typer.Option("--count", "-n", help="Puzzles to make.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="CSV file to write (Sudoku-Extreme columns).")
    ],
    min_rating: Annotated[int, typer.Option(help="Least rating (solver guesses) to accept.")] = 0,
    max_clues: Annotated[int, typer.Option(help="Most givens a puzzle may have (17..81).")] = 81,
    min_clues: Annotated[
        str,
        typer.Option(
            help="Reveal answer cells until a puzzle has this many givens: N, or LO-HI for a "
            "uniform spread (as data.min_clues; ratings are recomputed). 0 = minimal puzzles."
        ),
    ] = "0",
    seed: Annotated[int, typer.Option(help="Random seed; the output depends on it only.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Generate unique puzzles with answers and ratings into a CSV."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from puzzles.dataset import PuzzleSet
    from puzzles.generate import generate
    from puzzles.solver import warm_up

    if count < 1:
        fail(f"--count must be at least 1, got {count}")
    clue_range = _clue_range(min_clues)
    _check_output(out, force)
    warm_up()  # compile (or load) the kernels before the bar, and before any worker starts
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=_stderr, transient=True) as progress:
            task = progress.add_task("generating", total=count)
            made = generate(
                count,
                seed=seed,
                min_rating=min_rating,
                max_clues=max_clues,
                workers=workers,
                progress=lambda n: progress.advance(task, n),
            )
    except ValueError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; nothing written", code=EXIT_INTERRUPTED)
    questions, ratings = made.questions, made.ratings
    if clue_range[1] > 0:
        questions, ratings = _revealed(made.questions, made.answers, clue_range, seed)
    puzzles = PuzzleSet.from_grids(
        questions, made.answers, ratings, source=f"trm-generate-seed{seed}"
    )
    _write_csv(out, puzzles, force)
    _stdout.print(
        f"wrote {len(puzzles)} puzzles to {out} "
        f"(mean rating {ratings.mean():.1f}, max {ratings.max()})"
    )


def _clue_range(text: str) -> tuple[int, int]:
    """``N`` or ``LO-HI`` of --min-clues, checked (0 = no reveal)."""
    lo, _, hi = text.partition("-")
    try:
        low, high = int(lo), int(hi or lo)
    except ValueError:
        fail(f"--min-clues must be N or LO-HI, got {text!r}")
    if not 0 <= low <= high <= 81:
        fail(f"--min-clues must lie in 0..81 with LO <= HI, got {text!r}")
    return low, high


def _revealed(
    questions: np.ndarray, answers: np.ndarray, clue_range: tuple[int, int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The puzzles with answer cells revealed up to a target drawn from ``clue_range``, rerated."""
    import numpy as np

    from puzzles.generate import reveal
    from puzzles.solver import rate

    rng = np.random.default_rng([seed, 81, *clue_range])
    targets = rng.integers(clue_range[0], clue_range[1] + 1, size=len(questions))
    revealed = reveal(questions, answers, targets, rng)
    return revealed, rate(revealed)


@app.command("import")
def import_command(
    src: Annotated[
        str, typer.Argument(help="CSV, 'train.csv,test.csv', puzzle file, or reference folder.")
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out", "-o", help="FOLDER (reference layout), X.csv or 'train.csv,test.csv'."
        ),
    ],
    aug: Annotated[
        int, typer.Option(help="Shuffled copies per training puzzle (reference output).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Random seed of the shuffles.")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the output if it exists.")
    ] = False,
) -> None:
    """Convert between the Sudoku-Extreme CSV and the TRM reference builder's folder layout."""
    import numpy as np

    from puzzles.dataset import load_dataset
    from puzzles.parse import PuzzleFormatError
    from puzzles.reference import write_reference

    if aug < 0:
        fail(f"--aug must be >= 0, got {aug}")
    targets = [Path(p) for p in out.split(",")]
    to_csv = all(p.suffix.lower() == ".csv" for p in targets)
    if len(targets) > 2 or (len(targets) == 2 and not to_csv):
        fail(f"--out {out}: expected a folder, X.csv, or TRAIN.csv,TEST.csv")
    if to_csv and aug:
        fail("--aug applies to reference-folder output only (the CSV stores no copies)")
    for target in targets:
        _check_output(target, force, folder=not to_csv)
    try:
        splits = load_dataset(src)
    except PuzzleFormatError as error:
        fail(str(error))
    except OSError as error:
        fail(_os_message(error))
    if not to_csv:
        try:
            write_reference(
                targets[0], splits, n_aug=aug, rng=np.random.default_rng(seed), overwrite=force
            )
        except ValueError as error:
            fail(f"{src}: {error}")
        except FileExistsError as error:
            fail(str(error))
        except OSError as error:
            fail(_os_message(error))
        n_test = 0 if splits.test is None else len(splits.test)
        _stdout.print(
            f"wrote {targets[0]}: train {len(splits.train) * (1 + aug)} rows "
            f"({len(splits.train)} groups), test {n_test}"
        )
        return
    if len(targets) == 1 and splits.test is not None:
        fail(f"{src} has a test split; give --out TRAIN.csv,TEST.csv")
    if len(targets) == 2 and splits.test is None:
        fail(f"{src} has no test split; give a single --out X.csv")
    for target, part in zip(targets, (splits.train, splits.test), strict=False):
        _write_csv(target, part, force)
        _stdout.print(f"wrote {len(part)} puzzles to {target}")


@app.command("label")
def label_command(
    file: Annotated[str, typer.Argument(help="Puzzle file in any text form ('-' = stdin).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="CSV to write, with answers and ratings.")
    ],
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Reject the file if any puzzle lacks a unique solution."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Solve and rate every puzzle; ones without a unique solution are skipped (or, --strict,
    rejected)."""
    import numpy as np

    from puzzles.dataset import PuzzleSet
    from puzzles.parse import PuzzleFormatError, read_rows
    from puzzles.solver import solve_batch

    _check_output(out, force)
    try:
        rows = read_rows(file)
    except PuzzleFormatError as error:
        fail(str(error))
    except OSError as error:
        fail(_os_message(error))
    grids = rows.puzzles.questions
    solved = solve_batch(grids, limit=2)
    unique = solved.n_solutions == 1
    for line, n_solutions in zip(rows.lines.tolist(), solved.n_solutions.tolist(), strict=True):
        if n_solutions != 1:
            what = "has no solution" if n_solutions == 0 else "has more than one solution"
            if strict:
                fail(f"{rows.name}:{line}: puzzle {what}")
            _stderr.print(f"trm: warning: {rows.name}:{line}: puzzle {what}; skipped")
    if not unique.any():
        fail(f"{rows.name}: no puzzle has a unique solution; nothing written")
    # A CSV names each puzzle's source; a text file is the source of all its puzzles.
    stem = "stdin" if file == "-" else Path(file).stem
    sources = rows.puzzles.sources if rows.is_csv else np.full(len(grids), stem, dtype=object)
    puzzles = PuzzleSet(
        questions=grids[unique],
        answers=solved.solutions[unique],
        ratings=solved.guesses[unique],
        sources=sources[unique],
    )
    _write_csv(out, puzzles, force)
    _stdout.print(
        f"wrote {len(puzzles)} labelled puzzles to {out} ({int((~unique).sum())} skipped)"
    )


@app.command("info")
def info_command(
    file: Annotated[
        str, typer.Argument(help="CSV, puzzle file, 'train.csv,test.csv', or dataset folder.")
    ],
    test: Annotated[
        str | None, typer.Option("--test", help="Test set to compare against (overlap).")
    ] = None,
    max_checks: Annotated[int, typer.Option(help="Symmetric matches to verify exactly.")] = 200,
) -> None:
    """Counts, clue and rating histograms, duplicates, and train/test overlap up to symmetry."""
    from puzzles.info import describe
    from puzzles.parse import PuzzleFormatError

    try:
        report = describe(file, test, max_checks=max_checks)
    except PuzzleFormatError as error:
        fail(str(error))
    except OSError as error:
        fail(_os_message(error))
    print_report(report, _stdout)


def _write_csv(path: Path, puzzles: PuzzleSet, force: bool) -> None:
    """Write through the atomic CSV writer, turning refusals into one-line errors."""
    from puzzles.dataset import write_csv

    try:
        write_csv(path, puzzles, overwrite=force)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        fail(str(error))
    except OSError as error:
        fail(_os_message(error))


def _os_message(error: OSError) -> str:
    """``FILE: reason`` for a failed file operation (permissions, full disk, ...)."""
    return f"{error.filename}: {error.strerror}" if error.filename else str(error)
