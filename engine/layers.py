"""The building blocks of the TRM network: initialisation, RMSNorm, SwiGLU, rotary attention and
the post-norm block.

Follows the TRM reference model: post-norm residual blocks (``x = norm(x + mixer(x))`` then
``x = norm(x + swiglu(x))``), RMSNorm without a learnable scale, no biases, truncated-normal LeCun
initialisation. Module and parameter names mirror the reference's state-dict keys
(``mlp.gate_up_proj``, ``mlp_t``, ``self_attn.qkv_proj``...) so its checkpoints map one to one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def trunc_normal_(tensor: Tensor, std: float) -> Tensor:
    """Fill with a normal truncated at two standard deviations whose *actual* std is ``std``.

    A plain truncation at +-2 sigma shrinks the spread by ~12%; like the reference (after JAX's
    initialisers) we widen the underlying normal so the truncated result has the requested std.
    """
    if std == 0:
        return tensor.zero_()
    lo, hi = -2.0, 2.0
    mass = (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2))) / 2
    pdf = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # noqa: E731
    var = 1 - (hi * pdf(hi) - lo * pdf(lo)) / mass - ((pdf(hi) - pdf(lo)) / mass) ** 2
    wide = std / math.sqrt(var)
    return nn.init.trunc_normal_(tensor, mean=0.0, std=wide, a=lo * wide, b=hi * wide)


def lecun_linear(in_features: int, out_features: int, bias: bool = False) -> nn.Linear:
    """A linear layer with truncated-normal LeCun init (std 1/sqrt(fan_in)) and zero bias."""
    layer = nn.Linear(in_features, out_features, bias=bias)
    with torch.no_grad():
        trunc_normal_(layer.weight, std=1.0 / math.sqrt(in_features))
        if bias:
            layer.bias.zero_()
    return layer


def rms_norm(x: Tensor, eps: float) -> Tensor:
    """RMSNorm without a learnable scale, computed in float32."""
    dtype = x.dtype
    x = x.float()
    return (x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)).to(dtype)


def swiglu_width(width: int, expansion: float) -> int:
    """Inner width: ``round(expansion * width * 2/3)`` rounded up to a multiple of 256."""
    inner = round(expansion * width * 2 / 3)
    return -(-inner // 256) * 256


class SwiGLU(nn.Module):
    """``down(silu(gate) * up)`` with gate and up in one projection (gate rows first)."""

    def __init__(self, width: int, expansion: float) -> None:
        super().__init__()
        inner = swiglu_width(width, expansion)
        self.gate_up_proj = lecun_linear(width, 2 * inner)
        self.down_proj = lecun_linear(inner, width)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


def rotary_tables(length: int, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos and sin tables ``(length, head_dim)`` for RoPE in the rotate-half form."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate pairs (j, j + head_dim/2) of ``x`` ``(B, L, H, head_dim)`` by position."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    cos, sin = cos[:, None, :].to(x.dtype), sin[:, None, :].to(x.dtype)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """Non-causal multi-head self-attention with RoPE, no biases."""

    def __init__(self, d: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d // n_heads
        self.qkv_proj = lecun_linear(d, 3 * d)
        self.o_proj = lecun_linear(d, d)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        b, length, d = x.shape
        qkv = self.qkv_proj(x).view(b, length, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=2)  # each (B, L, H, head_dim)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        )
        return self.o_proj(out.transpose(1, 2).reshape(b, length, d))


class Block(nn.Module):
    """One post-norm layer: token mixer + residual, RMSNorm; SwiGLU + residual, RMSNorm.

    The ``mlp`` mixer (TRM's Sudoku default) is a SwiGLU across the sequence axis: it mixes the 97
    positions of each channel, so it needs no position encoding; its residual and RMSNorm are
    taken in that transposed layout too (normalising over positions), as the reference does.
    """

    def __init__(
        self, d: int, total_len: int, expansion: float, mixer: str, n_heads: int, eps: float
    ) -> None:
        super().__init__()
        self.eps = eps
        if mixer == "mlp":
            self.mlp_t = SwiGLU(total_len, expansion)
        else:
            self.self_attn = Attention(d, n_heads)
        self.mlp = SwiGLU(d, expansion)

    def forward(self, h: Tensor, rope: tuple[Tensor, Tensor] | None) -> Tensor:
        if rope is None:
            t = h.transpose(1, 2)  # (B, d, L): each channel's row of positions
            # As in the reference, this sub-layer's RMSNorm runs in the transposed layout, i.e.
            # over the positions of each channel, not over the channels of each position.
            h = rms_norm(t + self.mlp_t(t), self.eps).transpose(1, 2)
        else:
            h = rms_norm(h + self.self_attn(h, *rope), self.eps)
        return rms_norm(h + self.mlp(h), self.eps)
