"""Rich tables for `trm data info`: summary, clue and rating histograms, sources, overlap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from puzzles.info import Overlap, Report, SetInfo

_BAR_WIDTH = 30


def print_report(report: Report, console: Console) -> None:
    """Print every table of an info report."""
    infos = [report.train] if report.test is None else [report.train, report.test]
    console.print(_summary(infos))
    console.print(_histogram("Givens per puzzle", "givens", [i.clue_counts for i in infos], infos))
    if any(i.n_rated for i in infos):
        bands = [i.rating_bands for i in infos]
        console.print(_histogram("Rating (solver guesses)", "rating", bands, infos))
    console.print(_sources(infos))
    if report.overlap is not None:
        console.print(_overlap(report.overlap))


def _label(info: SetInfo) -> str:
    """A set's column header: its file name (the full path is in the summary caption)."""
    return Path(info.path).name or info.path


def _summary(infos: list[SetInfo]) -> Table:
    table = Table(title="Puzzle set", caption="  ".join(i.path for i in infos))
    table.add_column("")
    for info in infos:
        table.add_column(_label(info), justify="right")

    def mean(i: SetInfo) -> str:
        return "-" if i.rating_mean is None else f"{i.rating_mean:.2f}"

    rows = (
        ("puzzles", lambda i: f"{i.n_puzzles:,}"),
        ("with answer", lambda i: f"{i.n_with_answer:,}"),
        ("rated", lambda i: f"{i.n_rated:,}"),
        ("rating mean", mean),
        ("rating max", lambda i: "-" if i.rating_max is None else str(i.rating_max)),
        ("exact duplicates", lambda i: f"{i.n_exact_duplicates:,}"),
        ("duplicates up to symmetry", lambda i: f"{i.n_symmetric_duplicates:,}"),
    )
    for label, cell in rows:
        table.add_row(label, *(cell(i) for i in infos))
    return table


def _histogram(
    title: str, key: str, counts: Sequence[Mapping[Any, int]], infos: list[SetInfo]
) -> Table:
    table = Table(title=title)
    table.add_column(key, justify="right")
    for info in infos:
        table.add_column(_label(info), justify="right")
        table.add_column("", no_wrap=True)
    totals = [max(sum(c.values()), 1) for c in counts]
    labels = list(dict.fromkeys(label for c in counts for label in c))
    if all(isinstance(label, int) for label in labels):
        labels.sort()
    for label in labels:
        cells = []
        for c, total in zip(counts, totals, strict=True):
            value = c.get(label, 0)
            cells += [f"{value:,}", "█" * round(_BAR_WIDTH * value / total)]
        table.add_row(str(label), *cells)
    return table


def _sources(infos: list[SetInfo]) -> Table:
    table = Table(title="Sources")
    table.add_column("source")
    for info in infos:
        table.add_column(_label(info), justify="right")
    names = list(dict.fromkeys(name for i in infos for name in i.sources))
    for name in names:
        table.add_row(name or "(none)", *(f"{i.sources.get(name, 0):,}" for i in infos))
    return table


def _overlap(overlap: Overlap) -> Table:
    table = Table(title="Test puzzles also in the training set")
    table.add_column("")
    table.add_column("puzzles", justify="right")
    table.add_column("share", justify="right")
    n = max(overlap.n_test, 1)
    table.add_row("identical", f"{overlap.n_exact:,}", f"{overlap.n_exact / n:.1%}")
    table.add_row(
        "same up to symmetry (key)", f"{overlap.n_symmetric:,}", f"{overlap.n_symmetric / n:.1%}"
    )
    table.add_row(
        "  verified exactly",
        f"{overlap.n_confirmed:,} of {overlap.n_checked:,} checked",
        "",
    )
    return table
