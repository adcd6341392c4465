"""Optimizers and schedules: AdamATan2 against hand-computed steps, sign-SGD rows, LR, EMA."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch
from torch import nn

from engine.config import OptimConfig
from engine.model import TRM
from engine.optim import EMA, AdamATan2, SignSGD, build_optimizers, lr_at, set_lr
from engine.presets import tiny


def _reference_adam_atan2(
    p: list[float], grads: list[list[float]], lr: float, b1: float, b2: float, wd: float
) -> list[float]:
    """The imoneoi adam-atan2 update, one scalar at a time, in float64."""
    p, m, v = list(p), [0.0] * len(p), [0.0] * len(p)
    for k, g in enumerate(grads, start=1):
        for i, gi in enumerate(g):
            p[i] *= 1 - lr * wd
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            denom = math.sqrt(v[i]) / math.sqrt(1 - b2**k)
            p[i] -= lr / (1 - b1**k) * math.atan2(m[i], denom)
    return p


def test_adam_atan2_first_step_by_hand() -> None:
    # Step 1: m = (1 - b1) g and sqrt(v) / sqrt(1 - b2) = |g|; the bias correction of m is the
    # step size lr / (1 - b1) outside atan2, so the update is lr / 0.1 * atan(0.1) * sign(g), after
    # the decay p * (1 - lr * wd). (atan2(m_hat, sqrt(v_hat)) would give lr * pi/4 instead.)
    p = nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
    opt = AdamATan2([p], lr=0.1, betas=(0.9, 0.95), weight_decay=0.5)
    p.grad = torch.tensor([0.1, -0.2, 0.0], dtype=torch.float64)
    opt.step()
    q = 0.1 / 0.1 * math.atan(0.1)
    expected = torch.tensor([0.95 - q, -1.9 + q, 0.475], dtype=torch.float64)
    torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-12)


def test_adam_atan2_matches_scalar_reference_over_steps() -> None:
    start = [0.3, -1.2, 2.0, 0.0]
    grads = [[0.5, -0.1, 0.02, 1.0], [-0.4, -0.3, 0.0, 1.0], [0.1, 2.0, -0.5, -3.0]]
    p = nn.Parameter(torch.tensor(start, dtype=torch.float64))
    opt = AdamATan2([p], lr=0.01, betas=(0.9, 0.95), weight_decay=1.0)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    expected = _reference_adam_atan2(start, grads, lr=0.01, b1=0.9, b2=0.95, wd=1.0)
    torch.testing.assert_close(p.detach(), torch.tensor(expected, dtype=torch.float64))
    assert float(opt.state[p]["step"]) == 3.0


def test_adam_atan2_skips_params_without_grad_and_resumes_exactly() -> None:
    torch.manual_seed(0)
    a, b = nn.Parameter(torch.randn(3, 2)), nn.Parameter(torch.randn(4))
    opt = AdamATan2([a, b], lr=0.05, weight_decay=0.1)
    b_before = b.detach().clone()
    a.grad = torch.randn(3, 2)
    opt.step()
    assert torch.equal(b, b_before) and b not in opt.state

    # A fresh optimizer loaded from the state dict takes the same next step.
    twin = nn.Parameter(a.detach().clone())
    twin_opt = AdamATan2([twin, nn.Parameter(b.detach().clone())], lr=0.05, weight_decay=0.1)
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # as if saved and loaded
    grad = torch.randn(3, 2)
    a.grad, twin.grad = grad.clone(), grad.clone()
    opt.step()
    twin_opt.step()
    assert torch.equal(a, twin)


def test_adam_atan2_reduces_a_quadratic() -> None:
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(8))
    target = torch.randn(8)
    opt = AdamATan2([w], lr=0.05)
    first = None
    for _ in range(100):
        loss = ((w - target) ** 2).sum()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert ((w - target) ** 2).sum().item() < 0.01 * first


def test_sign_sgd_updates_only_used_rows() -> None:
    emb = nn.Embedding(4, 3)
    with torch.no_grad():
        emb.weight.copy_(torch.arange(12, dtype=torch.float32).reshape(4, 3) - 5)
    before = emb.weight.detach().clone()
    opt = SignSGD([emb.weight], lr=0.1, weight_decay=0.5)
    out = emb(torch.tensor([[0, 2, 2]]))
    (out * torch.tensor([1.0, -2.0, 0.0])).sum().backward()
    opt.step()
    after = emb.weight.detach()
    sign = torch.tensor([1.0, -1.0, 0.0])  # every used row has grad (1, -2, 0) times a count
    for row in (0, 2):
        torch.testing.assert_close(after[row], before[row] * 0.95 - 0.1 * sign)
    for row in (1, 3):
        assert torch.equal(after[row], before[row])


@pytest.mark.parametrize(
    ("step", "expected"), [(0, 0.0), (1, 0.01), (50, 0.5), (99, 0.99), (100, 1.0), (5000, 1.0)]
)
def test_lr_warmup_then_constant(step: int, expected: float) -> None:
    cfg = OptimConfig(lr=1.0, lr_warmup_steps=100, lr_schedule="constant", lr_min_ratio=0.1)
    assert lr_at(step, cfg, total_steps=1000) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("step", "expected"), [(50, 1.0), (100, 2.0), (550, 1.1), (1000, 0.2), (1200, 0.2)]
)
def test_lr_cosine(step: int, expected: float) -> None:
    cfg = OptimConfig(lr=2.0, lr_warmup_steps=100, lr_schedule="cosine", lr_min_ratio=0.1)
    assert lr_at(step, cfg, total_steps=1000) == pytest.approx(expected)


def test_lr_without_warmup() -> None:
    cfg = OptimConfig(lr=3e-4, lr_warmup_steps=0)
    assert lr_at(0, cfg, total_steps=10) == 3e-4


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))


def test_ema_averages_params_and_copies_buffers() -> None:
    net = _Net()
    w0 = net.linear.weight.detach().clone()
    ema = EMA(net, decay=0.9)
    with torch.no_grad():
        net.linear.weight.add_(1.0)
        net.count += 7
    ema.update(net)
    averaged = ema.averaged()
    torch.testing.assert_close(averaged["linear.weight"], 0.9 * w0 + 0.1 * (w0 + 1.0))
    assert averaged["count"].item() == 7

    fresh = _Net()
    ema.copy_to(fresh)
    torch.testing.assert_close(fresh.linear.weight, averaged["linear.weight"])
    assert not torch.equal(fresh.linear.weight, net.linear.weight)


def test_ema_decay_zero_follows_the_model() -> None:
    net = _Net()
    ema = EMA(net, decay=0.0)
    with torch.no_grad():
        net.linear.bias.mul_(-3.0)
    ema.update(net)
    for key, value in net.state_dict().items():
        assert torch.equal(ema.averaged()[key], value)


def test_ema_state_dict_round_trip_and_mismatch() -> None:
    net = _Net()
    ema = EMA(net, decay=0.5)
    with torch.no_grad():
        net.linear.weight.add_(2.0)
    ema.update(net)
    other = EMA(_Net(), decay=0.99)
    other.load_state_dict(ema.state_dict())
    assert other.decay == 0.5
    assert torch.equal(other.averaged()["linear.weight"], ema.averaged()["linear.weight"])
    with pytest.raises(KeyError, match="missing"):
        other.load_state_dict({"decay": 0.5, "averaged": {"linear.weight": torch.zeros(2, 2)}})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_adam_atan2_on_cuda_matches_the_reference() -> None:
    start = [0.3, -1.2, 2.0, 0.0]
    grads = [[0.5, -0.1, 0.02, 1.0], [-0.4, -0.3, 0.0, 1.0]]
    p = nn.Parameter(torch.tensor(start, device="cuda"))
    opt = AdamATan2([p], lr=0.01, weight_decay=1.0)
    for g in grads:
        p.grad = torch.tensor(g, device="cuda")
        opt.step()
    expected = _reference_adam_atan2(start, grads, lr=0.01, b1=0.9, b2=0.95, wd=1.0)
    torch.testing.assert_close(p.detach().cpu(), torch.tensor(expected, dtype=torch.float32))


def test_step_returns_the_closure_loss() -> None:
    w = nn.Parameter(torch.ones(2))

    def closure() -> float:
        loss = (w**2).sum()
        loss.backward()
        return loss.item()

    assert AdamATan2([w], lr=0.1).step(closure) == 2.0
    assert w[0].item() < 1.0
    assert SignSGD([w], lr=0.1).step(closure) is not None


def test_muon_takes_the_shared_networks_matrices_and_set_lr_moves_every_optimizer() -> None:
    model = TRM(tiny().model)
    names = {id(p): n for n, p in model.named_parameters()}
    assert set(build_optimizers(model, OptimConfig())) == {"adam", "sign"}  # the reference
    cfg = OptimConfig(optimizer="muon", lr=0.01, puzzle_emb_lr=0.02)
    optimizers = build_optimizers(model, cfg)
    held = {
        key: [names[id(p)] for group in opt.param_groups for p in group["params"]]
        for key, opt in optimizers.items()
    }
    assert set(held["muon"]) == {
        n for n, p in model.named_parameters() if n.startswith("L_level.") and p.ndim == 2
    }
    assert held["sign"] == ["puzzle_emb.weight"]
    assert {"embed_tokens.weight", "lm_head.weight", "q_head.bias"} <= set(held["adam"])
    assert sorted(n for held_by in held.values() for n in held_by) == sorted(names.values())
    set_lr(optimizers, 0.005, cfg)
    lrs = {key: opt.param_groups[0]["lr"] for key, opt in optimizers.items()}
    assert lrs == {"adam": 0.005, "muon": 0.005, "sign": pytest.approx(0.01)}
    own = dataclasses.replace(cfg, muon_lr=0.03)  # Muon's own peak, on the same schedule
    assert build_optimizers(model, own)["muon"].param_groups[0]["lr"] == 0.03
    set_lr(optimizers, 0.005, own)
    assert optimizers["muon"].param_groups[0]["lr"] == pytest.approx(0.015)
    # One Muon step moves a matrix by an orthogonalised update: its singular values are near
    # equal (Newton-Schulz), whatever the gradient's were.
    weight = model.L_level.layers[0].mlp.down_proj.weight
    before = weight.detach().clone()
    weight.grad = torch.randn_like(weight) * torch.logspace(-3, 0, weight.shape[1])
    optimizers["muon"].step()
    s = torch.linalg.svdvals((weight.detach() - before * (1 - 0.005 * cfg.weight_decay)).double())
    assert float(s.max() / s.min()) < 3.0
