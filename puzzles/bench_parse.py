"""Reader benchmark: puzzles per second reading a large one-per-line file, and the CSV beside it.

``python -m puzzles.bench_parse [--n 1000000] [--repeat 3] [--dir DIR]``

Writes ``n`` distinct valid puzzles (random symmetric copies of the bundled top1465 sample) to a
temporary folder twice: as 81-character lines (``puzzles.txt``) and as a Sudoku-Extreme CSV with
answers and ratings (``puzzles.csv``), then times every reader on them: :func:`read_puzzles` (a
list of :class:`~puzzles.parse.ParsedPuzzle`, what ``trm solve`` and ``trm data label`` use),
:func:`read_puzzle_set` (arrays, what ``trm data info/import`` and training use) and
:func:`read_csv`. Times are the best of ``--repeat`` reads, each checking every puzzle (rules,
and answers where given), from a file the OS has cached: wall-clock seconds, and this process's
CPU seconds, which a shared machine inflates less (both are printed as puzzles per second).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from puzzles.augment import shuffle
from puzzles.csv_format import read_csv, write_csv
from puzzles.dataset import read_puzzle_set
from puzzles.parse import read_puzzles
from puzzles.puzzle_set import PuzzleSet

SAMPLE = Path(__file__).parent / "samples" / "top1465-sample.csv"
_CHARS = np.frombuffer(b".123456789", dtype=np.uint8)


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    reader: str
    file: str
    n_puzzles: int
    megabytes: float
    seconds: float  # wall clock, best read
    cpu_seconds: float  # this process's CPU time, best read


def make_puzzles(n: int, seed: int = 0) -> PuzzleSet:
    """``n`` valid puzzles with answers and ratings: shuffled copies of the bundled sample."""
    sample = read_csv(SAMPLE)
    picks = np.random.default_rng([seed, 1]).integers(0, len(sample), size=n)
    copies = shuffle(
        sample.questions[picks], sample.answers[picks], np.random.default_rng([seed, 2])
    )
    return PuzzleSet(copies.questions, copies.answers, sample.ratings[picks], sample.sources[picks])


def write_lines(path: Path, questions: np.ndarray) -> None:
    """One 81-character line per puzzle, ``.`` for empty cells."""
    lines = np.concatenate(
        [_CHARS[questions], np.full((len(questions), 1), ord("\n"), np.uint8)], axis=1
    )
    path.write_bytes(lines.tobytes())


def time_reader(
    read: Callable[[Path], object], path: Path, repeat: int
) -> tuple[float, float, int]:
    """Best wall and CPU seconds of ``repeat`` reads, and how many puzzles one read returned."""
    wall, cpu, n = float("inf"), float("inf"), 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        n = len(read(path))  # type: ignore[arg-type]
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, n


def bench_parse(n: int, repeat: int, folder: Path) -> list[Row]:
    """Write the two files into ``folder`` and time each reader on them."""
    puzzles = make_puzzles(n)
    text, table = folder / "puzzles.txt", folder / "puzzles.csv"
    write_lines(text, puzzles.questions)
    write_csv(table, puzzles, overwrite=True)
    readers = (
        ("read_puzzles", read_puzzles, text),
        ("read_puzzle_set", read_puzzle_set, text),
        ("read_csv", read_csv, table),
        ("read_puzzles", read_puzzles, table),
    )
    rows = []
    for name, read, path in readers:
        seconds, cpu_seconds, n_read = time_reader(read, path, repeat)
        if n_read != n:
            raise RuntimeError(f"{name}({path.name}) returned {n_read} puzzles, expected {n}")
        rows.append(Row(name, path.name, n, path.stat().st_size / 1e6, seconds, cpu_seconds))
    return rows


def _format(row: Row) -> str:
    """One table line."""
    return (
        f"{row.reader:<16} {row.file:<12} {row.n_puzzles:>9} {row.megabytes:>7.1f} "
        f"{row.seconds:>7.2f} {row.n_puzzles / row.seconds:>11,.0f} "
        f"{row.megabytes / row.seconds:>6.0f} "
        f"{row.cpu_seconds:>7.2f} {row.n_puzzles / row.cpu_seconds:>11,.0f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m puzzles.bench_parse", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="puzzles per file")
    parser.add_argument("--repeat", type=int, default=3, help="timed reads per reader; best counts")
    parser.add_argument("--dir", type=Path, help="folder for the files (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        rows = bench_parse(args.n, args.repeat, Path(folder))
    print(f"puzzle file readers, {args.n:,} puzzles, best of {args.repeat} (file cached)")
    print(
        f"{'reader':<16} {'file':<12} {'puzzles':>9} {'MB':>7} {'wall s':>7} {'puzzles/s':>11} "
        f"{'MB/s':>6} {'cpu s':>7} {'per cpu s':>11}"
    )
    for row in rows:
        print(_format(row))


if __name__ == "__main__":
    main()
