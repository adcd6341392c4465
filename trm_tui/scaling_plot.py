"""The test-time scaling PNG (`trm bench scaling --png`): exact accuracy against the supervision
steps spent per puzzle, one line per selection rule (dashed: with noise), a point per K.

matplotlib is optional (the ``plots`` extra), imported inside :func:`write_scaling_png` with the
non-interactive Agg backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"halt-first": "#1f77b4", "valid": "#2ca02c", "vote": "#ff7f0e"}


def write_scaling_png(rows: list[dict[str, Any]], title: str, path: Path) -> Path:
    """Draw ``rows`` (``{noise, k, rule, exact, steps}``) into ``path``; returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    lines = sorted({(r["rule"], r["noise"]) for r in rows})
    for rule, noise in lines:
        points = sorted((r for r in rows if (r["rule"], r["noise"]) == (rule, noise)),
                        key=lambda r: r["k"])  # fmt: skip
        label = rule if noise == 0 else f"{rule}, noise {noise:g}"
        ax.plot([r["steps"] for r in points], [100 * r["exact"] for r in points], marker="o",
                color=COLOURS.get(rule), linestyle="-" if noise == 0 else "--",
                label=label)  # fmt: skip
        for r in points:
            ax.annotate(f"K={r['k']}", (r["steps"], 100 * r["exact"]), fontsize=7,
                        textcoords="offset points", xytext=(3, -9))  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("supervision steps spent per puzzle (summed over its samples, early exit)")
    ax.set_ylabel("exact accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
