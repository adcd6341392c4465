"""PNG plots of the CGAR ablation, drawn from ``results.json`` alone (``engine.ablation``).

- ``accuracy_vs_time.png``: held-out exact and cell accuracy at each in-run evaluation against
  training time (seconds in optimizer steps, as in the results table): per variant the mean over
  its seeds (dashed for variants with levers) and a band spanning the seeds; dotted lines mark
  where the depth curriculum moves to its next stage. The
  CGAR paper plots accuracy against wall-clock hours; training time leaves out the evaluation
  pauses and resume gaps so that variants compare on the work that differs.
- ``supervision_weights.png``: HSW's weight per supervision step, ``w_t = lambda^(t-1) / Z``,
  against the baseline's uniform ``1 / N_sup``.

matplotlib is optional (the ``plots`` extra) and imported inside :func:`write_plots`, with the
non-interactive Agg backend so it works without a display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.ablation_report import variant_title

COLOURS = {"baseline": "#444444", "depth": "#1f77b4", "hsw": "#ff7f0e", "cgar": "#2ca02c"}
LEVER_COLOURS = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
ACCURACY_PNG = "accuracy_vs_time.png"
WEIGHTS_PNG = "supervision_weights.png"


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (the plots are skipped without it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    """Write both PNGs into ``out``; returns their paths. Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    return [
        _accuracy_vs_time(results, Path(out) / ACCURACY_PNG),
        _supervision_weights(results, Path(out) / WEIGHTS_PNG),
    ]


def _colour(variant: str, index: int) -> str:
    """The four curricula variants keep their colours; levered ones take the next free ones."""
    return COLOURS.get(variant, LEVER_COLOURS[index % len(LEVER_COLOURS)])


def _accuracy_vs_time(results: dict[str, Any], path: Path) -> Path:
    """Exact and cell accuracy against training time: per variant the mean over its seeds at each
    evaluation (a line) and the spread of the seeds (a band), with the stage boundaries."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharex=True)
    ran = list(dict.fromkeys(r["variant"] for r in results["runs"]))
    variants = [v for v in results.get("variants", ran) if v in ran]
    levered = [v for v in variants if v not in COLOURS]
    for variant in variants:
        runs = [r for r in results["runs"] if r["variant"] == variant and r["curve"]]
        if not runs:
            continue
        colour = _colour(variant, levered.index(variant) if variant in levered else 0)
        length = min(len(r["curve"]) for r in runs)  # the evaluations every seed has
        times = np.mean([[p["train_s"] for p in r["curve"][:length]] for r in runs], axis=0)
        style = "-" if variant in COLOURS else "--"
        for ax, metric in zip(axes, ("exact_accuracy", "cell_accuracy"), strict=True):
            values = 100 * np.array([[p[metric] or 0.0 for p in r["curve"][:length]] for r in runs])
            label = f"{variant_title(variant)} ({len(runs)})"
            ax.plot(
                times,
                values.mean(axis=0),
                style,
                marker="o",
                markersize=3,
                color=colour,
                label=label,
            )
            if len(runs) > 1:
                ax.fill_between(
                    times,
                    values.min(axis=0),
                    values.max(axis=0),
                    color=colour,
                    alpha=0.12,
                    linewidth=0,
                )
            for stage in runs[0]["stages"]:
                ax.axvline(stage["train_s"], color=colour, linestyle=":", linewidth=0.8, alpha=0.5)
    for ax, title in zip(axes, ("exact accuracy", "cell accuracy"), strict=True):
        ax.set_title(f"held-out {title} (full depth)")
        ax.set_xlabel("training time (s, optimizer steps only)")
        ax.set_ylabel("%")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"CGAR ablation, preset {results['preset']}: mean over seeds (runs in brackets), band = "
        "their range; dotted = depth-curriculum stage changes",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _supervision_weights(results: dict[str, Any], path: Path) -> Path:
    """HSW weights per supervision step beside the baseline's uniform weights."""
    import matplotlib.pyplot as plt

    weights = results["hsw_weights"]
    steps = list(range(1, len(weights) + 1))
    lam = results["config"]["curriculum"]["hsw_lambda"]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.bar(steps, weights, color=COLOURS["hsw"], label=f"HSW, lambda = {lam}")
    ax.axhline(1 / len(weights), color=COLOURS["baseline"], linestyle="--", label="uniform 1/N_sup")
    ax.set_xlabel("supervision step t")
    ax.set_ylabel("weight w_t (sums to 1)")
    ax.set_xticks(steps)
    ax.set_title("Hierarchical supervision weights: w_t = lambda^(t-1) / Z")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
