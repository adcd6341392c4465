"""The analytic FLOP count against hand-computed values for tiny configurations."""

from __future__ import annotations

import pytest

from engine.config import ModelConfig
from engine.flops import curriculum_saving, eval_step_flops, step_flops
from engine.presets import paper

# d=32, L = 2 + 81 = 83 positions, expansion 2: both SwiGLU inner widths round up to 256.
MLP = ModelConfig(d=32, n_layers=1, expansion=2.0, puzzle_emb_len=2, n_latent=2, n_cycles=2)
ATTENTION = ModelConfig(
    d=32, n_layers=1, expansion=2.0, puzzle_emb_len=2, mixer="attention", n_heads=4
)


def test_mlp_mixer_step_by_hand() -> None:
    # Token mixer across positions on (B=1, d=32, L=83): gate+up 2*32*83*512, down 2*32*256*83.
    mixer = 2_719_744 + 1_359_872
    # Channel SwiGLU on (L=83, d=32): the same two products with d and L swapped.
    channel = 2_719_744 + 1_359_872
    block = mixer + channel  # 8,159,232
    heads = 2 * 81 * 32 * 11 + 2 * 32 * 2  # 57,152
    flops = step_flops(MLP, n=2, T=2, batch=1)
    assert flops.forward == 2 * 3 * block + heads == 49_012_544
    assert flops.backward == 2 * (3 * block + heads) == 49_069_696
    assert flops.total == 98_082_240
    assert step_flops(MLP, n=2, T=2, batch=5).total == 5 * 98_082_240
    assert eval_step_flops(MLP, n=2, T=2, batch=1) == 49_012_544


def test_attention_mixer_step_by_hand() -> None:
    qkv = 2 * 83 * 32 * 96  # 509,952
    scores = values = 2 * 83 * 83 * 32  # 440,896 each
    out = 2 * 83 * 32 * 32  # 169,984
    block = qkv + scores + values + out + 4_079_616  # + channel SwiGLU as above
    heads = 57_152
    flops = step_flops(ATTENTION, n=1, T=1, batch=1)
    assert block == 5_641_344
    assert flops.forward == 2 * block + heads == 11_339_840
    assert flops.backward == 2 * flops.forward


def test_two_layers_double_the_network() -> None:
    one = step_flops(MLP, n=2, T=2, batch=1)
    two = step_flops(ModelConfig(**{**MLP.__dict__, "n_layers": 2}), n=2, T=2, batch=1)
    heads = 57_152
    assert two.forward - heads == 2 * (one.forward - heads)


def test_paper_curriculum_ideal_matches_cgar_figures() -> None:
    cfg = paper()
    saving = curriculum_saving(cfg.model, cfg.curriculum.stages, n_steps=1000, batch=1)
    # Network applications per step: (n+1)T forward, +2(n+1) backward; stages 30/30/40 %.
    assert saving.forward_ratio == pytest.approx(21 / (0.3 * 3 + 0.3 * 10 + 0.4 * 21), rel=2e-3)
    assert saving.total_ratio == pytest.approx(35 / (0.3 * 9 + 0.3 * 20 + 0.4 * 35), rel=2e-3)
    assert round(saving.forward_ratio, 2) == 1.71 and round(saving.total_ratio, 2) == 1.54
