"""Evaluation of a TRM on held-out puzzles, and loading a trained model from a run, one of our
checkpoints or a reference TRM / CGAR state dict (``engine.reference_checkpoint``).

Follows the reference evaluation: full depth ``(n_latent, n_cycles)``, all ``N_sup`` supervision
steps, no exploration; exact and cell accuracy are those of the answer after the final step, and
the halting head is right when ``q_halt >= 0`` exactly where that answer is solved. Added to the
reference's metrics: the step at which the halting head first fires (``q_halt > 0``; ``N_sup``
when it never does) and the exact accuracy of the answer at that step, which is what inference
with early halting (``trm solve --halt``) gives.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.checkpoint import CheckpointError, load_checkpoint
from engine.config import ModelConfig, RunConfig
from engine.data import to_tokens
from engine.model import TRM
from engine.precision import autocast, resolve_precision
from engine.reference_checkpoint import ANCHOR, find_reference_weights, reference_to_trm
from engine.run_dir import RunPaths


@dataclass
class EvalResult:
    """Accuracies of a model on a set of puzzles (fractions in 0..1)."""

    n_puzzles: int
    exact_accuracy: float  # all 81 cells right after the final step
    cell_accuracy: float  # cells right after the final step
    halt_accuracy: float  # (q_halt >= 0) == solved, at the final step
    avg_halt_step: float  # mean first step with q_halt > 0 (N_sup when it never fires)
    halt_exact_accuracy: float  # exact accuracy of the answer at the first halting step


def evaluate(
    model: TRM,
    questions: np.ndarray,
    answers: np.ndarray,
    batch_size: int,
    precision: str = "auto",
) -> EvalResult:
    """Run every puzzle through all ``N_sup`` steps at full depth and measure the answers;
    ``precision`` follows ``engine.precision``'s rule for inference."""
    return summarize(evaluate_rows(model, questions, answers, batch_size, precision))


def summarize(rows: np.ndarray) -> EvalResult:
    """The means of :func:`evaluate_rows`' per-puzzle outcomes (any subset of them)."""
    means = rows.mean(axis=0) if len(rows) else np.zeros(len(ROW_FIELDS))
    return EvalResult(len(rows), *(float(m) for m in means))


ROW_FIELDS = ("exact", "cells", "halt_right", "halt_step", "exact_at_halt")


@torch.no_grad()
def evaluate_rows(
    model: TRM,
    questions: np.ndarray,
    answers: np.ndarray,
    batch_size: int,
    precision: str = "auto",
) -> np.ndarray:
    """Per-puzzle outcomes (N, 5) in ``ROW_FIELDS`` order: solved at the final step, fraction of
    cells right, halting head right, first halting step, solved at that step. Evaluating once
    and grouping the rows gives every difficulty band's accuracy without running it again."""
    cfg = model.cfg
    device = model.y_init.device
    dtype = resolve_precision(precision, device, "infer")
    was_training = model.training
    model.eval()
    parts = []
    for start in range(0, len(questions), batch_size):
        tokens = to_tokens(questions[start : start + batch_size], device)
        labels = to_tokens(answers[start : start + batch_size], device)
        batch = tokens.shape[0]
        puzzle_ids = torch.zeros(batch, dtype=torch.long, device=device)
        carry = model.initial_carry(batch)
        halt_step = torch.full((batch,), cfg.n_sup, dtype=torch.long, device=device)
        exact_at_halt = torch.zeros(batch, dtype=torch.bool, device=device)
        fired = torch.zeros(batch, dtype=torch.bool, device=device)
        for t in range(1, cfg.n_sup + 1):
            with autocast(device, dtype):
                out = model(carry, tokens, puzzle_ids, cfg.n_latent, cfg.n_cycles)
            carry = out.carry
            cells_right = out.logits.argmax(-1) == labels
            solved = cells_right.all(-1)
            first = (out.q_halt > 0) & ~fired
            halt_step = torch.where(first, t, halt_step)
            exact_at_halt = torch.where(first, solved, exact_at_halt)
            fired |= first
        # A row whose head never fired is answered at the final step.
        exact_at_halt = torch.where(fired, exact_at_halt, solved)
        halt_right = (out.q_halt >= 0) == solved
        outcome = [solved, cells_right.float().mean(-1), halt_right, halt_step, exact_at_halt]
        parts.append(torch.stack([x.double() for x in outcome], dim=1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(parts) if parts else np.zeros((0, len(ROW_FIELDS)))


@dataclass
class TrainedModel:
    """A model rebuilt from a checkpoint, with the weights evaluation uses (EMA when saved)."""

    model: TRM
    config: RunConfig
    step: int
    path: Path  # the checkpoint file it came from


def checkpoint_path(target: Path) -> Path:
    """The checkpoint a run directory or file stands for: ``best.pt``, else ``latest.pt``."""
    if target.is_dir():
        trained = RunPaths(target).trained()
        if trained is not None:
            return trained
        raise CheckpointError(
            f"{target}: no checkpoints/best.pt or checkpoints/latest.pt in this run"
        )
    return target


def load_trained_model(
    target: Path,
    device: torch.device,
    *,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    n_heads: int | None = None,
    puzzle_emb_len: int | None = None,
) -> TrainedModel:
    """The model of a run directory, one of our checkpoints (EMA weights if saved) or a reference
    TRM / CGAR state dict (auto-detected); ``n_latent`` / ``n_cycles`` set the full depth used.

    ``n_heads`` and ``puzzle_emb_len`` only matter for reference files, whose shapes cannot tell
    them (paper defaults 8 and 16; an MLP mixer's prefix is read from its shapes);
    for those, the depth defaults to the paper's ``(6, 3)``, for ours to the saved one. The model
    comes back in eval mode: it is for inference and evaluation, never for more training.
    """
    path = checkpoint_path(target)
    state = load_checkpoint(path)
    weights = find_reference_weights(state)
    if weights is not None:
        reference = reference_to_trm(
            weights,
            path,
            n_latent=n_latent,
            n_cycles=n_cycles,
            n_heads=n_heads,
            puzzle_emb_len=puzzle_emb_len,
        )
        config, model, step = reference.run_config(), reference.build(), 0
    elif "config" in state and "model" in state:
        config = RunConfig.from_dict(state["config"])
        config = dataclasses.replace(config, model=_with_depth(config.model, n_latent, n_cycles))
        model = TRM(config.model)
        weights = state["ema"]["averaged"] if state.get("ema") else state["model"]
        try:
            model.load_state_dict(weights)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            raise CheckpointError(
                f"{path}: weights do not fit the saved configuration: {first}"
            ) from e
        step = int(state.get("step", 0))
    else:
        raise CheckpointError(
            f"{path}: neither a trm checkpoint (no 'config' and 'model') nor a reference "
            f"TRM state dict (no key ending in {ANCHOR!r})"
        )
    return TrainedModel(model=model.to(device).eval(), config=config, step=step, path=path)


def _with_depth(cfg: ModelConfig, n_latent: int | None, n_cycles: int | None) -> ModelConfig:
    """``cfg`` with the full depth ``(n_latent, n_cycles)`` replaced where given."""
    if n_latent is not None:
        cfg = dataclasses.replace(cfg, n_latent=n_latent)
    if n_cycles is not None:
        cfg = dataclasses.replace(cfg, n_cycles=n_cycles)
    return cfg
