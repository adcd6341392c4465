"""The model shipped inside the package: present, compact, inference-only, loadable with its
config, and it solves the kind of puzzle it was trained on (engine/models/README.md)."""

from __future__ import annotations

import numpy as np
import torch

from engine.checkpoint import load_checkpoint
from engine.evaluate import load_trained_model
from engine.shipped import SHIPPED, shipped_checkpoint
from engine.solving.inference import solve
from puzzles.generate import generate, reveal

MAX_BYTES = 4 * 2**20  # "a few MB at most"


def test_the_package_ships_a_compact_inference_only_model() -> None:
    assert shipped_checkpoint() == SHIPPED
    assert SHIPPED.stat().st_size < MAX_BYTES
    state = load_checkpoint(SHIPPED)
    assert set(state) == {"config", "step", "model", "converted_from"}  # no optimizer, no carry
    assert state["step"] > 0


def test_the_shipped_model_loads_with_its_config_and_solves_easy_puzzles() -> None:
    trained = load_trained_model(SHIPPED, torch.device("cpu"))
    cfg = trained.config
    assert (cfg.preset, cfg.model.mixer, cfg.model.d) == ("cpu", "mlp", 128)
    assert not trained.model.training
    # Fresh puzzles (a generator seed no training set uses) topped up to 36 givens: within the
    # training distribution (24-40 givens), so nearly all must be solved.
    made = generate(12, seed=424242)
    questions = reveal(made.questions, made.answers, 36, np.random.default_rng(0))
    result = solve(trained.model, questions)
    solved = (result.final == made.answers).all(axis=1)
    assert solved.sum() >= 10, solved
    assert (result.halted_at < cfg.model.n_sup).mean() >= 0.5  # the halting head fires
