"""`trm convert`: turn a reference TRM / CGAR state dict into one of our checkpoints.

A thin command over ``engine.reference_checkpoint``: the architecture comes from the file's
shapes, the depth ``(n, T)``, head count and (attention mixer) prefix length from the flags with
the paper's defaults. The output holds the configuration, so ``trm eval OUT.pt`` and
``trm solve --checkpoint OUT.pt`` use it directly. Torch is imported inside the command, so
``trm --help`` stays fast. An existing output file is never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trm_tui.errors import fail


def convert_command(
    reference_file: Annotated[
        Path, typer.Argument(help="A state dict saved by the TRM reference or CGAR trainer.")
    ],
    out: Annotated[Path, typer.Argument(help="The trm checkpoint to write (must not exist).")],
    n_latent: Annotated[
        int, typer.Option("--n-latent", help="n: latent recursions per cycle (paper: 6).")
    ] = 6,
    n_cycles: Annotated[
        int, typer.Option("--n-cycles", help="T: recursion cycles per supervision step (paper: 3).")
    ] = 3,
    n_heads: Annotated[
        int, typer.Option("--n-heads", help="Attention heads (attention mixer; paper: 8).")
    ] = 8,
    puzzle_emb_len: Annotated[
        int | None,
        typer.Option(
            "--puzzle-emb-len",
            help="Puzzle-embedding prefix length (attention mixer; default 16; the MLP mixer's "
            "is read from its shapes).",
        ),
    ] = None,
) -> None:
    """Convert a reference TRM / CGAR checkpoint into a trm checkpoint."""
    if not reference_file.exists():
        fail(f"{reference_file}: no such file")
    if out.exists():
        fail(f"{out}: already exists; not overwriting it (choose another name or remove it)")
    from engine.checkpoint import CheckpointError
    from engine.reference_checkpoint import load_reference, write_converted

    try:
        reference = load_reference(
            reference_file,
            n_latent=n_latent,
            n_cycles=n_cycles,
            n_heads=n_heads,
            puzzle_emb_len=puzzle_emb_len,
        )
        write_converted(reference, out, reference_file)
    except CheckpointError as e:
        fail(str(e))
    cfg = reference.config
    shape = f"d={cfg.d}, {cfg.n_layers} layers, {cfg.mixer} mixer, expansion {cfg.expansion:g}"
    depth = f"n={cfg.n_latent}, T={cfg.n_cycles}, {cfg.puzzle_emb_len}-position prefix"
    if cfg.mixer == "attention":
        depth += f", {cfg.n_heads} heads"
    Console(highlight=False, soft_wrap=True).print(f"wrote {out}: {shape}; {depth}")
