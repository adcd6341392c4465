"""`trm convert`: write any checkpoint the tools read as a compact inference-only trm checkpoint.

The source is a reference TRM / CGAR state dict (architecture from its shapes; the depth
``(n, T)``, head count and attention prefix length from the flags, with the paper's defaults), or
one of our training checkpoints or run directories (its EMA weights and configuration, without
the optimizer and resume state: this is how the shipped model was made). The output holds the
configuration, so ``trm eval OUT.pt`` and ``trm solve --checkpoint OUT.pt`` use it directly.
Torch is imported inside the command, so ``trm --help`` stays fast. An existing output file is
never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trm_tui.errors import fail


def convert_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="A reference TRM / CGAR state dict, a trm checkpoint or a run directory."
        ),
    ],
    out: Annotated[Path, typer.Argument(help="The trm checkpoint to write (must not exist).")],
    n_latent: Annotated[
        int | None,
        typer.Option("--n-latent", help="n: latent recursions per cycle (reference default 6)."),
    ] = None,
    n_cycles: Annotated[
        int | None,
        typer.Option(
            "--n-cycles", help="T: recursion cycles per supervision step (reference default 3)."
        ),
    ] = None,
    n_heads: Annotated[
        int | None,
        typer.Option("--n-heads", help="Attention heads of a reference file (default 8)."),
    ] = None,
    puzzle_emb_len: Annotated[
        int | None,
        typer.Option(
            "--puzzle-emb-len",
            help="Puzzle-embedding prefix length (attention mixer; default 16; the MLP mixer's "
            "is read from its shapes).",
        ),
    ] = None,
) -> None:
    """Convert a reference or training checkpoint into a compact trm checkpoint."""
    if not source.exists():
        fail(f"{source}: no such file or run directory")
    if out.exists():
        fail(f"{out}: already exists; not overwriting it (choose another name or remove it)")
    import torch

    from engine.checkpoint import CheckpointError
    from engine.evaluate import load_trained_model
    from engine.shipped import write_inference_checkpoint

    try:
        trained = load_trained_model(
            source,
            torch.device("cpu"),
            n_latent=n_latent,
            n_cycles=n_cycles,
            n_heads=n_heads,
            puzzle_emb_len=puzzle_emb_len,
        )
        write_inference_checkpoint(trained, out)
    except CheckpointError as e:
        fail(str(e))
    cfg = trained.config.model
    shape = f"d={cfg.d}, {cfg.n_layers} layers, {cfg.mixer} mixer, expansion {cfg.expansion:g}"
    depth_text = f"n={cfg.n_latent}, T={cfg.n_cycles}, {cfg.puzzle_emb_len}-position prefix"
    if cfg.mixer == "attention":
        depth_text += f", {cfg.n_heads} heads"
    Console(highlight=False, soft_wrap=True).print(
        f"wrote {out}: {shape}; {depth_text}; step {trained.step}"
    )
