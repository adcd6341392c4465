"""Reference TRM / CGAR state dicts load into our TRM and predict exactly as the reference model.

The reference model is written out here a second time, independently of ``engine``: a functional
forward straight from a reference-layout state dict with plain torch ops (embedding scaled by
sqrt(d), puzzle embedding at position 0 of the prefix, post-norm blocks, SwiGLU from
``gate_up_proj``/``down_proj``, rotate-half RoPE attention written out with einsum, or the
``mlp_t`` mixer over positions, the ``z_L``/``z_H`` recursion from ``L_init``/``H_init``). The
state dict holds random values, not our initialisation, so any wrong mapping changes the output.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from engine.checkpoint import CheckpointError, save_checkpoint
from engine.evaluate import load_trained_model
from engine.model import TRM
from engine.presets import tiny
from engine.reference_checkpoint import export_reference, load_reference

CPU = torch.device("cpu")
EPS = 1e-5


def reference_state(
    d: int,
    n_layers: int,
    mixer: str,
    *,
    inner: int = 256,
    inner_t: int = 512,
    prefix_len: int = 16,
    n_ids: int = 3,
    seed: int = 0,
) -> dict[str, Tensor]:
    """A reference-layout state dict (keys after the wrapper prefixes) of random values."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 1.0) -> Tensor:
        return torch.randn(*shape, generator=g) * scale

    total = prefix_len + 81
    sd = {
        "inner.H_init": rand(d).to(torch.bfloat16),
        "inner.L_init": rand(d).to(torch.bfloat16),
        "inner.embed_tokens.embedding_weight": rand(11, d, scale=0.5),
        "inner.lm_head.weight": rand(11, d, scale=d**-0.5),
        "inner.q_head.weight": rand(2, d, scale=d**-0.5),
        "inner.q_head.bias": rand(2),
        "inner.puzzle_emb.weights": rand(n_ids, d, scale=0.5),
    }
    for i in range(n_layers):
        layer = f"inner.L_level.layers.{i}."
        sd[layer + "mlp.gate_up_proj.weight"] = rand(2 * inner, d, scale=d**-0.5)
        sd[layer + "mlp.down_proj.weight"] = rand(d, inner, scale=inner**-0.5)
        if mixer == "mlp":
            sd[layer + "mlp_t.gate_up_proj.weight"] = rand(2 * inner_t, total, scale=total**-0.5)
            sd[layer + "mlp_t.down_proj.weight"] = rand(total, inner_t, scale=inner_t**-0.5)
        else:
            sd[layer + "self_attn.qkv_proj.weight"] = rand(3 * d, d, scale=d**-0.5)
            sd[layer + "self_attn.o_proj.weight"] = rand(d, d, scale=d**-0.5)
    return sd


def _norm(h: Tensor) -> Tensor:
    return h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + EPS)


def _swiglu(h: Tensor, sd: dict[str, Tensor], name: str) -> Tensor:
    gate_up = h @ sd[name + "gate_up_proj.weight"].to(h.dtype).T
    half = gate_up.shape[-1] // 2
    gate, up = gate_up[..., :half], gate_up[..., half:]
    return (F.silu(gate) * up) @ sd[name + "down_proj.weight"].to(h.dtype).T


def _attention(h: Tensor, sd: dict[str, Tensor], name: str, n_heads: int) -> Tensor:
    b, length, d = h.shape
    hd = d // n_heads
    qkv = (h @ sd[name + "qkv_proj.weight"].to(h.dtype).T).view(b, length, 3 * n_heads, hd)
    q, k, v = qkv[:, :, :n_heads], qkv[:, :, n_heads : 2 * n_heads], qkv[:, :, 2 * n_heads :]
    freq = 1.0 / 10000.0 ** (torch.arange(0, hd, 2).float() / hd)
    angle = torch.arange(length).float()[:, None] * freq[None, :]  # (L, hd/2)
    cos = torch.cat([angle.cos(), angle.cos()], -1)[:, None, :].to(h.dtype)
    sin = torch.cat([angle.sin(), angle.sin()], -1)[:, None, :].to(h.dtype)

    def rotate(x: Tensor) -> Tensor:  # pairs (j, j + hd/2)
        return x * cos + torch.cat([-x[..., hd // 2 :], x[..., : hd // 2]], -1) * sin

    q, k = rotate(q), rotate(k)
    weights = torch.softmax(torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(hd), dim=-1)
    out = torch.einsum("bhqk,bkhe->bqhe", weights, v).reshape(b, length, d)
    return out @ sd[name + "o_proj.weight"].to(h.dtype).T


def reference_step(
    sd: dict[str, Tensor],
    z_H: Tensor,
    z_L: Tensor,
    tokens: Tensor,
    puzzle_ids: Tensor,
    *,
    n: int,
    T: int,
    prefix_len: int,
    n_heads: int,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One reference supervision step: new z_H, z_L, logits (B, 81, 11) and the halt logit, in
    ``z_H``'s dtype."""
    d, dtype = sd["inner.H_init"].shape[0], z_H.dtype
    n_layers = len({k.split(".")[3] for k in sd if k.startswith("inner.L_level.layers.")})
    cells = sd["inner.embed_tokens.embedding_weight"].to(dtype)[tokens]  # (B, 81, d)
    puzzle = sd["inner.puzzle_emb.weights"].to(dtype)[puzzle_ids]  # (B, d)
    puzzle = F.pad(puzzle, (0, prefix_len * d - d)).view(-1, prefix_len, d)
    x = math.sqrt(d) * torch.cat([puzzle, cells], dim=1)

    def block(h: Tensor, i: int) -> Tensor:
        layer = f"inner.L_level.layers.{i}."
        if layer + "mlp_t.down_proj.weight" in sd:
            t = h.transpose(1, 2)
            h = _norm(t + _swiglu(t, sd, layer + "mlp_t.")).transpose(1, 2)
        else:
            h = _norm(h + _attention(h, sd, layer + "self_attn.", n_heads))
        return _norm(h + _swiglu(h, sd, layer + "mlp."))

    def network(h: Tensor, injection: Tensor) -> Tensor:
        h = h + injection
        for i in range(n_layers):
            h = block(h, i)
        return h

    for _ in range(T):
        for _ in range(n):
            z_L = network(z_L, z_H + x)
        z_H = network(z_H, z_L)
    logits = (z_H @ sd["inner.lm_head.weight"].to(dtype).T)[:, prefix_len:]
    q = z_H[:, 0] @ sd["inner.q_head.weight"].to(dtype).T + sd["inner.q_head.bias"].to(dtype)
    return z_H, z_L, logits, q[:, 0]


def _wrapped(sd: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {prefix + k: v for k, v in sd.items()}


@pytest.mark.parametrize(
    ("mixer", "d", "prefix_len", "n_heads"),
    [("mlp", 32, 16, 8), ("mlp", 48, 5, 8), ("attention", 64, 16, 4), ("attention", 32, 16, 8)],
)
def test_loaded_model_matches_the_reference_forward(
    tmp_path: Path, mixer: str, d: int, prefix_len: int, n_heads: int
) -> None:
    sd = reference_state(d, 2, mixer, prefix_len=prefix_len, seed=d)
    path = tmp_path / "step_100"
    torch.save(_wrapped(sd, "_orig_mod.model."), path)
    n, T = 2, 2
    # The prefix length is read from mlp_t's shapes; the attention mixer takes it as an argument.
    extra = {"puzzle_emb_len": prefix_len} if mixer == "attention" else {}
    reference = load_reference(path, n_latent=n, n_cycles=T, n_heads=n_heads, **extra)
    cfg = reference.config
    assert (cfg.d, cfg.n_layers, cfg.mixer, cfg.puzzle_emb_len) == (d, 2, mixer, prefix_len)
    assert (cfg.n_latent, cfg.n_cycles, cfg.n_puzzle_ids) == (n, T, 3)
    # Both sides in float64: fp32 kernels differ between CPUs (oneDNN/AMX on some Intel parts
    # move the last digits by ~1e-4 after 18 passes); in float64 the two agree to 1e-13
    # (measured on an Intel AMX machine), so 1e-9 leaves 10^4 of room, and a wrong weight
    # mapping moves them by 0.1.
    model = reference.build().double().eval()

    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(1, 11, (3, 81), generator=g)
    puzzle_ids = torch.tensor([0, 2, 1])
    carry = model.initial_carry(3)
    assert carry.y.dtype == torch.float64
    z_H = sd["inner.H_init"].double().expand(3, prefix_len + 81, d)
    z_L = sd["inner.L_init"].double().expand(3, prefix_len + 81, d)
    with torch.no_grad():
        for _ in range(3):  # supervision steps, the carry passed on
            out = model(carry, tokens, puzzle_ids, n, T)
            z_H, z_L, logits, q_halt = reference_step(
                sd, z_H, z_L, tokens, puzzle_ids, n=n, T=T, prefix_len=prefix_len, n_heads=n_heads
            )
            carry = out.carry
            tol = {"atol": 1e-9, "rtol": 1e-9}
            torch.testing.assert_close(out.logits, logits, **tol)
            # the halting logit is returned in float32 whatever the model's dtype
            torch.testing.assert_close(out.q_halt, q_halt.float(), atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(carry.y, z_H, **tol)
    assert logits.std() > 0.1 and q_halt.std() > 0.01  # a test that could tell outputs apart


_OUR_NAMES = {
    "embed_tokens.weight": "inner.embed_tokens.embedding_weight",
    "puzzle_emb.weight": "inner.puzzle_emb.weights",
}


@pytest.mark.parametrize(("mixer", "n_heads"), [("mlp", 8), ("attention", 4)])
def test_loaded_model_has_the_reference_gradients(tmp_path: Path, mixer: str, n_heads: int) -> None:
    """The backward pass (our fused RMSNorm, the token-major products) gives the gradients of
    the reference's plain autograd, for every weight: one step at T = 1, all of it with grad."""
    sd = reference_state(32, 2, mixer, seed=5)
    torch.save(_wrapped(sd, "_orig_mod.model."), tmp_path / "ref.pt")
    extra = {"puzzle_emb_len": 16} if mixer == "attention" else {}
    model = load_reference(tmp_path / "ref.pt", n_latent=2, n_cycles=1, n_heads=n_heads, **extra)
    model = model.build().double()  # float64 on both sides, as in the forward test above
    g = torch.Generator().manual_seed(2)
    tokens, puzzle_ids = torch.randint(1, 11, (3, 81), generator=g), torch.tensor([0, 2, 1])
    probe = torch.randn(3, 81, 11, generator=g, dtype=torch.float64)  # weighs every logit apart

    out = model(model.initial_carry(3), tokens, puzzle_ids, n=2, T=1)
    ((out.logits * probe).sum() + out.q_halt.sum()).backward()

    leaves = {k: v.double().requires_grad_(v.is_floating_point()) for k, v in sd.items()}
    start = leaves["inner.H_init"].detach().expand(3, 97, 32), leaves["inner.L_init"].detach()
    _, _, logits, q_halt = reference_step(
        leaves,
        start[0],
        start[1].expand(3, 97, 32),
        tokens,
        puzzle_ids,
        n=2,
        T=1,
        prefix_len=16,
        n_heads=n_heads,
    )
    ((logits * probe).sum() + q_halt.sum()).backward()
    compared = 0
    for name, param in model.named_parameters():
        key = _OUR_NAMES.get(name, "inner." + name)
        torch.testing.assert_close(param.grad, leaves[key].grad, atol=1e-9, rtol=1e-9, msg=name)
        compared += 1
    assert compared == len([k for k in sd if not k.endswith("_init")])


@pytest.mark.parametrize("prefix", ["", "model.", "_orig_mod.", "_orig_mod.model.", "module."])
def test_wrapper_prefixes_are_stripped(tmp_path: Path, prefix: str) -> None:
    sd = reference_state(32, 1, "mlp")
    torch.save(_wrapped(sd, prefix), tmp_path / "ref.pt")
    loaded = load_trained_model(tmp_path / "ref.pt", CPU, n_latent=1, n_cycles=1)
    assert loaded.step == 0 and loaded.config.model.n_layers == 1
    assert torch.equal(loaded.model.lm_head.weight, sd["inner.lm_head.weight"])


def test_nested_state_dicts_prefer_ema(tmp_path: Path) -> None:
    raw, ema = reference_state(32, 1, "mlp", seed=1), reference_state(32, 1, "mlp", seed=2)
    torch.save({"model": _wrapped(raw, "_orig_mod.model."), "ema": ema, "step": 5}, tmp_path / "r")
    loaded = load_trained_model(tmp_path / "r", CPU)
    assert torch.equal(loaded.model.q_head.bias, ema["inner.q_head.bias"])


def test_bf16_initial_states_become_float32_with_paper_defaults(tmp_path: Path) -> None:
    sd = reference_state(64, 2, "attention")
    torch.save(sd, tmp_path / "ref.pt")
    loaded = load_trained_model(tmp_path / "ref.pt", CPU)
    model = loaded.model
    assert model.y_init.dtype == torch.float32 and model.z_init.dtype == torch.float32
    assert torch.equal(model.y_init, sd["inner.H_init"].float())
    assert torch.equal(model.z_init, sd["inner.L_init"].float())
    cfg = loaded.config.model
    assert (cfg.n_latent, cfg.n_cycles, cfg.n_heads, cfg.puzzle_emb_len) == (6, 3, 8, 16)
    assert cfg.expansion == 4.0 and all(p.dtype == torch.float32 for p in model.parameters())


def test_expansion_is_inferred_from_both_swiglu_widths(tmp_path: Path) -> None:
    # Inner widths 512 at d=32 and 1024 over 97 positions need an expansion in (12, 15.8), not 4.
    sd = reference_state(32, 1, "mlp", inner=512, inner_t=1024)
    torch.save(sd, tmp_path / "ref.pt")
    reference = load_reference(tmp_path / "ref.pt")
    assert 12 < reference.config.expansion < 15.9
    model = reference.build()
    assert model.L_level.layers[0].mlp.gate_up_proj.weight.shape == (1024, 32)
    assert model.L_level.layers[0].mlp_t.gate_up_proj.weight.shape == (2048, 97)
    # 512 at d=32 needs an expansion above 12, which makes the 97-wide mixer wider than 256.
    sd = reference_state(32, 1, "mlp", inner=512, inner_t=256)
    assert "no SwiGLU expansion gives these widths (512 at 32, 256 at 97)" in _error(tmp_path, sd)


def test_export_round_trip_is_exact(tmp_path: Path) -> None:
    torch.manual_seed(0)
    ours = TRM(tiny().model)
    torch.save(export_reference(ours), tmp_path / "exported.pt")
    again = load_reference(tmp_path / "exported.pt", n_latent=2, n_cycles=2).build()
    fields = ("d", "n_layers", "mixer", "puzzle_emb_len", "n_puzzle_ids", "n_latent", "n_cycles")
    assert all(getattr(again.cfg, f) == getattr(ours.cfg, f) for f in fields)
    assert again.state_dict().keys() == ours.state_dict().keys()
    for name, value in ours.state_dict().items():
        assert torch.equal(again.state_dict()[name], value), name


def test_our_checkpoint_depth_can_be_overridden(tmp_path: Path) -> None:
    cfg = tiny()
    save_checkpoint(
        tmp_path / "ours.pt", {"config": cfg.to_dict(), "model": TRM(cfg.model).state_dict()}
    )
    loaded = load_trained_model(tmp_path / "ours.pt", CPU, n_latent=5, n_cycles=1, n_heads=3)
    assert (loaded.config.model.n_latent, loaded.config.model.n_cycles) == (5, 1)
    assert loaded.model.cfg.n_latent == 5 and loaded.config.model.n_heads == cfg.model.n_heads


def _error(tmp_path: Path, state: object, **kwargs: int) -> str:
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        load_trained_model(path, CPU, **kwargs)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    return message


def test_wrong_shapes_name_the_first_offending_key(tmp_path: Path) -> None:
    sd = reference_state(32, 2, "mlp")
    sd["inner.L_level.layers.1.mlp.down_proj.weight"] = torch.zeros(32, 128)
    assert "inner.L_level.layers.1.mlp.down_proj.weight has shape (32, 128)" in _error(tmp_path, sd)
    sd = reference_state(32, 1, "mlp")
    sd["inner.embed_tokens.embedding_weight"] = torch.zeros(12, 32)
    assert "expected (11, d)" in _error(tmp_path, sd)
    sd = reference_state(32, 1, "mlp")
    sd["inner.lm_head.weight"] = torch.zeros(11, 16)
    assert "inner.lm_head.weight has shape (11, 16), expected (11, 32)" in _error(tmp_path, sd)
    sd = reference_state(32, 1, "mlp")
    sd["inner.puzzle_emb.weights"] = torch.zeros(1, 64)  # puzzle_emb_ndim wider than d
    assert "inner.puzzle_emb.weights" in _error(tmp_path, sd)


def test_missing_unexpected_and_unsupported_keys(tmp_path: Path) -> None:
    sd = reference_state(32, 1, "attention")
    del sd["inner.L_init"]
    assert "missing key inner.L_init" in _error(tmp_path, sd)
    sd = reference_state(32, 1, "attention")
    sd["inner.L_level.layers.0.self_attn.q_norm.weight"] = torch.zeros(4)
    assert "unexpected key 'inner.L_level.layers.0.self_attn.q_norm.weight'" in _error(tmp_path, sd)
    sd = reference_state(32, 1, "mlp")
    sd["inner.H_level.layers.0.mlp.down_proj.weight"] = torch.zeros(32, 256)
    assert "HRM" in _error(tmp_path, sd)
    sd = reference_state(32, 1, "attention")
    assert "head width must be even" in _error(tmp_path, sd, n_heads=32)
    sd = reference_state(32, 1, "mlp", prefix_len=16)
    sd["inner.rotary_emb.cos_cached"] = torch.zeros(97, 4)  # a recomputed buffer: skipped
    torch.save(sd, tmp_path / "ok.pt")
    assert load_trained_model(tmp_path / "ok.pt", CPU).config.model.mixer == "mlp"


def test_files_that_are_not_checkpoints(tmp_path: Path) -> None:
    assert "holds a Tensor" in _error(tmp_path, torch.zeros(3))
    assert "neither a trm checkpoint" in _error(tmp_path, {"weights": torch.zeros(1)})
    text = tmp_path / "notes.txt"
    text.write_text("inner.embed_tokens.embedding_weight\n")
    with pytest.raises(CheckpointError, match=r"^\S*notes\.txt: [^\n]+$"):
        load_trained_model(text, CPU)
    whole = tmp_path / "whole.pt"
    torch.save(reference_state(32, 1, "mlp"), whole)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable torch checkpoint"):
        load_trained_model(cut, CPU)
