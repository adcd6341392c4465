"""The TRM network: parameter counts of the paper, shapes, initialisation and the gradient path."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from engine.config import ModelConfig
from engine.layers import swiglu_width, trunc_normal_
from engine.losses import stablemax_cross_entropy, step_loss
from engine.model import TRM


def tiny_cfg(**kw: object) -> ModelConfig:
    return ModelConfig(
        **{"d": 32, "expansion": 2.0, "n_latent": 2, "n_cycles": 3, "puzzle_emb_len": 4, **kw}
    )


def batch(b: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randint(1, 11, (b, 81), generator=g), torch.zeros(b, dtype=torch.long)


@pytest.mark.parametrize(("mixer", "expected"), [("mlp", 5_028_866), ("attention", 6_828_034)])
def test_paper_parameter_counts(mixer: str, expected: int) -> None:
    assert TRM(ModelConfig(mixer=mixer)).n_params() == expected


def test_swiglu_width_rounds_up_to_256() -> None:
    assert swiglu_width(512, 4.0) == 1536
    assert swiglu_width(97, 4.0) == 512


def test_trunc_normal_has_requested_std_and_bounds() -> None:
    torch.manual_seed(0)
    t = trunc_normal_(torch.empty(200_000), std=0.5)
    assert abs(t.std().item() - 0.5) < 0.01
    assert (
        t.abs().max().item() <= 2 * 0.5 / 0.8796 + 1e-4
    )  # truncated at 2 sigma of the widened normal


@pytest.mark.parametrize("mixer", ["mlp", "attention"])
def test_step_shapes_and_halting_init(mixer: str) -> None:
    cfg = tiny_cfg(mixer=mixer, n_heads=4)
    model = TRM(cfg)
    tokens, ids = batch()
    out = model(model.initial_carry(3), tokens, ids, n=2, T=2)
    assert out.logits.shape == (3, 81, 11)
    assert out.carry.y.shape == out.carry.z.shape == (3, cfg.total_len, cfg.d)
    assert not out.carry.y.requires_grad
    # q_head starts at weight 0, bias -5: every row says "not yet".
    assert torch.allclose(out.q_halt, torch.full((3,), -5.0))
    bolder = TRM(tiny_cfg(mixer=mixer, n_heads=4, halt_bias_init=-3.0))
    assert torch.allclose(
        bolder(bolder.initial_carry(3), tokens, ids, n=2, T=2).q_halt, torch.full((3,), -3.0)
    )


def test_only_last_cycle_carries_gradient() -> None:
    model = TRM(tiny_cfg())
    calls: list[bool] = []
    model.L_level.register_forward_hook(lambda m, i, o: calls.append(o.requires_grad))
    tokens, ids = batch()
    n, T = 2, 3
    model(model.initial_carry(3), tokens, ids, n=n, T=T)
    assert len(calls) == T * (n + 1)
    assert calls == [False] * ((T - 1) * (n + 1)) + [True] * (n + 1)


def test_gradient_reaches_carry_only_without_no_grad_cycles() -> None:
    model = TRM(tiny_cfg())
    tokens, ids = batch()
    for T, reaches in [(1, True), (2, False)]:
        carry = model.initial_carry(3)
        carry.y.requires_grad_(True)
        out = model(carry, tokens, ids, n=2, T=T)
        out.logits.float().sum().backward()
        assert (carry.y.grad is not None) == reaches


def test_reset_carry_resets_only_marked_rows() -> None:
    model = TRM(tiny_cfg())
    tokens, ids = batch()
    carry = model(model.initial_carry(3), tokens, ids, n=1, T=1).carry
    reset = model.reset_carry(carry, torch.tensor([True, False, True]))
    init = model.initial_carry(3)
    assert torch.equal(reset.y[0], init.y[0]) and torch.equal(reset.z[2], init.z[2])
    assert torch.equal(reset.y[1], carry.y[1]) and not torch.equal(reset.y[1], init.y[1])


def test_embedding_prefix_and_scale() -> None:
    model = TRM(tiny_cfg(n_puzzle_ids=2))
    with torch.no_grad():
        model.puzzle_emb.weight[1] = 1.0
    tokens, _ = batch(2)
    x = model.embed(tokens, torch.tensor([0, 1]))
    scale = math.sqrt(32)
    assert torch.allclose(x[1, 0], torch.full((32,), scale))
    assert torch.count_nonzero(x[:, 1:4]) == 0  # prefix positions 1.. are zeros
    assert torch.allclose(x[0, 4:], scale * model.embed_tokens(tokens[0]))


def test_stablemax_cross_entropy_matches_definition() -> None:
    logits = torch.tensor([[[2.0, -1.0, 0.0]]])
    s = torch.tensor([3.0, 0.5, 1.0])
    expected = -torch.log(s[0] / s.sum())
    assert torch.allclose(stablemax_cross_entropy(logits, torch.tensor([[0]])), expected)


def test_stablemax_gradient_is_finite_at_a_logit_of_exactly_one() -> None:
    # 1 - x vanishes there: an unguarded negative branch gives inf * 0 = NaN through torch.where
    logits = torch.tensor([[[1.0, -2.0, 0.0, 3.0, 1.0, 0.5, -1.0, 2.0, 1.0, 0.0, -0.5]]])
    logits.requires_grad_(True)
    stablemax_cross_entropy(logits, torch.tensor([[4]])).sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_step_loss_weights_rows_and_counts_exact_rows() -> None:
    model = TRM(tiny_cfg())
    tokens, ids = batch(2)
    out = model(model.initial_carry(2), tokens, ids, n=1, T=1)
    labels = out.logits.argmax(-1).clone()
    labels[1, 0] = (labels[1, 0] + 1) % 11  # row 1 has one wrong cell
    plain = step_loss(out, labels, None, halt_weight=0.5)
    assert plain.seq_is_correct.tolist() == [True, False]
    weighted = step_loss(out, labels, torch.tensor([2.0, 0.0]), halt_weight=0.5)
    lm = stablemax_cross_entropy(out.logits, labels).mean(-1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        out.q_halt, torch.tensor([1.0, 0.0]), reduction="none"
    )
    assert torch.allclose(weighted.loss, 2.0 * (lm[0] + 0.5 * bce[0]) / 2)
    assert torch.allclose(plain.loss, (lm + 0.5 * bce).mean())


def _swiglu(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The SwiGLU as the reference writes it: ``F.linear`` over the last axis."""
    gate, up = F.linear(x, module.gate_up_proj.weight).chunk(2, dim=-1)
    return F.linear(F.silu(gate) * up, module.down_proj.weight)


def _rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm as the reference writes it: over the last axis, no scale."""
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


def test_mlp_mixer_normalises_over_positions_like_the_reference() -> None:
    from engine.layers import Block

    torch.manual_seed(0)
    block = Block(d=8, total_len=97, expansion=2.0, mixer="mlp", n_heads=1, eps=1e-5)
    h = torch.randn(2, 97, 8)  # (B, L, d)
    t = h.transpose(1, 2)
    mixed = _rms_norm(t + _swiglu(block.mlp_t, t), 1e-5).transpose(1, 2)
    expected = _rms_norm(mixed + _swiglu(block.mlp, mixed), 1e-5)
    token_major = h.transpose(0, 1).contiguous()  # the block's layout, (L, B, d)
    torch.testing.assert_close(block(token_major, None).transpose(0, 1), expected)
    # After the token-mixing sub-layer each channel has unit RMS over the 97 positions.
    assert torch.allclose(mixed.square().mean(1), torch.ones(2, 8), atol=1e-4)


def test_gated_backward_is_the_derivative_of_silu_times_up() -> None:
    from engine.layers import _Gated  # the compiled network's silu(gate) * up

    g = torch.Generator().manual_seed(0)
    gate = (4 * torch.randn(6, 5, generator=g, dtype=torch.float64)).requires_grad_()
    up = torch.randn(6, 5, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(_Gated.apply, (gate, up))
    torch.testing.assert_close(_Gated.apply(gate, up), F.silu(gate) * up)
