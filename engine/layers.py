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


class _AddRMSNorm(torch.autograd.Function):
    """RMSNorm (no scale, at least float32) of ``h + delta`` with a hand-written backward that
    saves only the output and the inverse RMS: ``ds = r * (dy - y * mean(dy * y))`` (half the
    element-wise passes of autograd's)."""

    @staticmethod
    def forward(ctx, h: Tensor, delta: Tensor, eps: float, dim: int) -> Tensor:
        s = (h + delta).to(torch.promote_types(h.dtype, torch.float32))
        r = torch.rsqrt(s.square().mean(dim, keepdim=True) + eps)
        y = s * r
        ctx.save_for_backward(y, r)
        ctx.dim, ctx.dtypes = dim, (h.dtype, delta.dtype)
        return y.to(h.dtype)

    @staticmethod
    def backward(ctx, dy: Tensor) -> tuple[Tensor, Tensor, None, None]:
        y, r = ctx.saved_tensors
        dy = dy.to(y.dtype)
        ds = (dy - y * (dy * y).mean(ctx.dim, keepdim=True)) * r
        h_dtype, delta_dtype = ctx.dtypes
        return ds.to(h_dtype), ds.to(delta_dtype), None, None


def add_rms_norm(h: Tensor, delta: Tensor, eps: float, dim: int = -1) -> Tensor:
    """The post-norm residual: RMSNorm of ``h + delta`` over ``dim``, computed in float32 (float64
    stays float64), returned in the residual stream's dtype (``h``'s; float32 under autocast),
    fused for backward."""
    return _AddRMSNorm.apply(h, delta, eps, dim)


def swiglu_width(width: int, expansion: float) -> int:
    """Inner width: ``round(expansion * width * 2/3)`` rounded up to a multiple of 256."""
    inner = round(expansion * width * 2 / 3)
    return -(-inner // 256) * 256


class _Gated(torch.autograd.Function):
    """``silu(gate) * up`` with a hand-written backward built on one sigmoid ``s = sigmoid(gate)``:
    ``d_up = dh * gate * s`` and ``d_gate = dh * up * s * (1 + gate * (1 - s))``.

    For the compiled network: autograd's formula, as inductor fuses it, evaluates ``exp(-gate)``
    twice (for ``silu`` and for its derivative); this saves the inputs only and evaluates it once.
    Eager, its half-dozen separate element-wise ops cost more than autograd's two kernels."""

    @staticmethod
    def forward(ctx, gate: Tensor, up: Tensor) -> Tensor:
        ctx.save_for_backward(gate, up)
        return F.silu(gate) * up

    @staticmethod
    def backward(ctx, dh: Tensor) -> tuple[Tensor, Tensor]:
        gate, up = ctx.saved_tensors
        s = torch.sigmoid(gate)
        silu = gate * s
        return dh * up * (s + silu * (1 - s)), dh * silu


def _gated(gate: Tensor, up: Tensor) -> Tensor:
    """``silu(gate) * up``, in the form that runs fastest where it runs.

    - Compiled: :class:`_Gated` with autograd, else the plain out-of-place product, which inductor
      fuses into one pass (the in-place form on a ``chunk`` view made it rewrite the whole
      product with a mask, then multiply in a second pass: 2.6x slower on the mixer's product).
    - Eager: autograd's ``silu`` with autograd, else in ``gate``'s memory (no new tensors)."""
    if torch.compiler.is_compiling():
        return _Gated.apply(gate, up) if torch.is_grad_enabled() else F.silu(gate) * up
    if torch.is_grad_enabled():
        return F.silu(gate) * up
    return F.silu(gate, inplace=True).mul_(up)


class SwiGLU(nn.Module):
    """``down(silu(gate) * up)`` with gate and up in one projection (gate rows first).

    Both entry points keep the gate and the up activations in contiguous memory, which the
    element-wise ``silu(gate) * up`` needs to run at full speed (on halves of one wide product it
    runs 2-3x slower): :meth:`forward` takes rows ``(N, width)`` and projects onto the gate and up
    halves of the weight separately; :meth:`mix_columns` takes columns ``(width, N)`` and
    multiplies from the left, so the halves are contiguous blocks of rows.
    """

    def __init__(self, width: int, expansion: float) -> None:
        super().__init__()
        self.inner = swiglu_width(width, expansion)
        self.gate_up_proj = lecun_linear(width, 2 * self.inner)
        self.down_proj = lecun_linear(self.inner, width)

    def forward(self, rows: Tensor) -> Tensor:
        """Rows ``(N, width)`` -> ``(N, width)``: the SwiGLU of each row."""
        weight = self.gate_up_proj.weight
        gate, up = F.linear(rows, weight[: self.inner]), F.linear(rows, weight[self.inner :])
        return F.linear(_gated(gate, up), self.down_proj.weight)

    def mix_columns(self, columns: Tensor) -> Tensor:
        """Columns ``(width, N)`` -> ``(width, N)``: the SwiGLU of each column."""
        gate, up = torch.mm(self.gate_up_proj.weight, columns).chunk(2, dim=0)
        return torch.mm(self.down_proj.weight, _gated(gate, up))


def rotary_tables(length: int, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos and sin tables ``(length, head_dim)`` for RoPE in the rotate-half form."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate pairs (j, j + head_dim/2) of ``x`` ``(L, B, H, head_dim)`` by position."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    cos, sin = cos[:, None, None, :].to(x.dtype), sin[:, None, None, :].to(x.dtype)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """Non-causal multi-head self-attention with RoPE, no biases, on ``(L, B, d)``."""

    def __init__(self, d: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d // n_heads
        self.qkv_proj = lecun_linear(d, 3 * d)
        self.o_proj = lecun_linear(d, d)

    def forward(self, h: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        length, b, d = h.shape
        qkv = self.qkv_proj(h).view(length, b, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=2)  # each (L, B, H, head_dim)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        heads = lambda t: t.permute(1, 2, 0, 3)  # noqa: E731  (B, H, L, head_dim)
        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
        return self.o_proj(out.permute(2, 0, 1, 3).reshape(length, b, d))


class Block(nn.Module):
    """One post-norm layer: token mixer + residual, RMSNorm; SwiGLU + residual, RMSNorm.

    Works on the token-major layout ``(L, B, d)`` (see ``engine.model``): viewed as
    ``(L, B*d)``, the ``mlp`` mixer's columns are the channels of every row, and viewed as
    ``(L*B, d)`` the channel SwiGLU's rows are the positions; neither view copies.

    The ``mlp`` mixer (TRM's Sudoku default) is a SwiGLU across the sequence axis: it mixes the 97
    positions of each channel, so it needs no position encoding; its residual and RMSNorm are
    taken over the positions of each channel too, as the reference does.
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
        length, b, d = h.shape  # token-major
        if rope is None:
            columns = h.reshape(length, b * d)  # each column: one channel of one row
            mixed = self.mlp_t.mix_columns(columns).view(length, b, d)
            # As in the reference, this sub-layer's RMSNorm runs over the positions (dim 0).
            # Both norms take (L, B, d) views: mixing (L, B*d) and (L*B, d) views in one fused
            # kernel made inductor index it with div/mod and emit scalar code (2.5-3.3x slower).
            h = add_rms_norm(h, mixed, self.eps, dim=0)
        else:
            h = add_rms_norm(h, self.self_attn(h, *rope), self.eps)
        return add_rms_norm(h, self.mlp(h.reshape(length * b, d)).view(length, b, d), self.eps)
