"""The presets, as plain functions: ``paper`` (the published recipe), ``cpu`` (a laptop's
complete CGAR run) and ``tiny`` (tests); :func:`with_cgar` switches CGAR's curricula on."""

from __future__ import annotations

import dataclasses

from engine.config import (
    ConfigError,
    CurriculumConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    Stage,
    TrainConfig,
)


def paper() -> RunConfig:
    """The published TRM/CGAR Sudoku-Extreme recipe: d=512, MLP mixer, batch 768, lr 1e-4,
    weight decay 1.0, warm-up 2000, EMA 0.999, 50,000 epochs of 1,000 puzzles."""
    return RunConfig(preset="paper")


def cpu() -> RunConfig:
    """A complete, instructive run of all three CGAR stages on a 2-core CPU in ~15-20 minutes.

    Departs from the paper where a laptop needs it: width 64; easier puzzles (answer cells
    revealed up to 45 givens) so that a few hundred steps visibly learn; a larger learning rate
    with a short warm-up; and a faster EMA for a run of ~600 steps. It keeps the paper's MLP
    token mixer: the attention mixer is cheaper per step at this width (149 vs 113 samples/s at
    depth (2, 1)) but learned far slower. In 300-step ``--cgar`` runs on 60-given puzzles the
    MLP mixer reached test exact accuracy 0.31 (cells 0.96) and attention 0.00 (cells 0.83).
    """
    return RunConfig(
        preset="cpu",
        model=ModelConfig(d=64, mixer="mlp"),
        optim=OptimConfig(
            lr=3e-3,
            lr_warmup_steps=20,
            weight_decay=0.1,
            puzzle_emb_lr=3e-3,
            puzzle_emb_weight_decay=0.1,
            ema=0.95,
        ),
        data=DataConfig(n_train=1000, n_test=100, min_clues=45),
        train=TrainConfig(batch_size=64, epochs=40, eval_every=125, log_every=5),
    )


def tiny() -> RunConfig:
    """Seconds on a CPU: for tests and smoke runs."""
    return RunConfig(
        preset="tiny",
        model=ModelConfig(d=32, expansion=2.0, n_latent=2, n_cycles=2, n_sup=4, puzzle_emb_len=2),
        curriculum=CurriculumConfig(stages=(Stage(0.3, 1, 1), Stage(0.6, 1, 2), Stage(1.0, 2, 2))),
        optim=OptimConfig(
            lr=1e-3,
            lr_warmup_steps=2,
            weight_decay=0.0,
            puzzle_emb_lr=1e-3,
            puzzle_emb_weight_decay=0.0,
            ema=0.0,
        ),
        data=DataConfig(n_train=32, n_test=16),
        train=TrainConfig(
            batch_size=8, epochs=2, log_every=1, device="cpu", precision="fp32", compile="off"
        ),
    )


PRESETS = {"paper": paper, "cpu": cpu, "tiny": tiny}


def preset(name: str) -> RunConfig:
    """The named preset; an unknown name is a ConfigError listing the known ones."""
    if name not in PRESETS:
        raise ConfigError(f"preset: unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return PRESETS[name]()


def with_cgar(cfg: RunConfig, depth: bool = True, hsw: bool = True) -> RunConfig:
    """Switch on CGAR's depth curriculum and/or supervision weighting."""
    cur = dataclasses.replace(
        cfg.curriculum, depth=cfg.curriculum.depth or depth, hsw=cfg.curriculum.hsw or hsw
    )
    return dataclasses.replace(cfg, curriculum=cur)
