"""TRM, the Tiny Recursive Model (Jolicoeur-Martineau, 2025): one tiny network applied recursively.

In the paper's words, with ``x`` the embedded puzzle, ``y`` the current answer and ``z`` the latent
reasoning state (the reference code's ``z_H`` and ``z_L``)::

    latent_recursion(x, y, z, n):   n times z <- net(z, y + x);  then y <- net(y, z)
    deep_recursion(x, y, z, n, T):  T - 1 latent recursions without gradient, one with gradient

One call of :meth:`TRM.forward` is one *supervision step*: a deep recursion from the carried
``(y, z)``, the answer logits read from ``y``, and the halting logit read from ``y`` at position 0.
The trainer calls it up to ``N_sup`` times per puzzle, detaching the carry in between.

Depth ``(n, T)`` is an argument, not configuration, because CGAR's curriculum changes it during
training. Module names mirror the reference's state-dict keys (``embed_tokens``, ``lm_head``,
``q_head``, ``L_level.layers``), so its checkpoints map one to one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from engine.config import ModelConfig
from engine.layers import Block, lecun_linear, rotary_tables, trunc_normal_

Perturb = Callable[[Tensor], Tensor]  # z -> a perturbed z of the same shape


@dataclass
class Carry:
    """Per-row recursion state that persists across supervision steps."""

    y: Tensor  # (B, L, d) answer state (reference z_H), L = puzzle_emb_len + 81
    z: Tensor  # (B, L, d) latent reasoning state (reference z_L)


@dataclass
class StepOutput:
    """What one supervision step returns."""

    carry: Carry  # the new carry, detached
    logits: Tensor  # (B, 81, vocab) answer logits for the cells
    q_halt: Tensor  # (B,) float32 halting logit: "the current answer is exactly right"


class Network(nn.Module):
    """The one shared network: ``net(h, injection)`` adds the injection, then the layers.

    Takes and returns the token-major layout ``(L, B, d)`` (see :meth:`TRM.forward`)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            Block(cfg.d, cfg.total_len, cfg.expansion, cfg.mixer, cfg.n_heads, cfg.rms_eps)
            for _ in range(cfg.n_layers)
        )

    def forward(self, h: Tensor, injection: Tensor, rope: tuple[Tensor, Tensor] | None) -> Tensor:
        h = (h + injection).contiguous()
        for layer in self.layers:
            h = layer(h, rope)
        return h


class TRM(nn.Module):
    """The Tiny Recursive Model with its answer head, halting head and puzzle embedding."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed_scale = math.sqrt(cfg.d)
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d)
        self.puzzle_emb = nn.Embedding(cfg.n_puzzle_ids, cfg.d)
        self.L_level = Network(cfg)
        self.lm_head = lecun_linear(cfg.d, cfg.vocab_size)
        # q_head row 0 is the halt logit; row 1 is the reference's unused "continue" logit.
        self.q_head = nn.Linear(cfg.d, 2)
        with torch.no_grad():
            trunc_normal_(self.embed_tokens.weight, std=1.0 / self.embed_scale)
            self.puzzle_emb.weight.zero_()
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(cfg.halt_bias_init)  # -5 (reference): start by never halting
        self.register_buffer("y_init", trunc_normal_(torch.empty(cfg.d), std=1.0))
        self.register_buffer("z_init", trunc_normal_(torch.empty(cfg.d), std=1.0))
        if cfg.mixer == "attention":
            cos, sin = rotary_tables(cfg.total_len, cfg.d // cfg.n_heads, cfg.rope_theta)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)

    def n_params(self) -> int:
        """Network parameters, excluding the puzzle embedding (as the reference counts them)."""
        return sum(
            p.numel() for name, p in self.named_parameters() if not name.startswith("puzzle_emb.")
        )

    def initial_carry(self, batch_size: int) -> Carry:
        """A carry whose every row holds the fixed initial ``y`` and ``z``."""
        shape = (batch_size, self.cfg.total_len, self.cfg.d)
        return Carry(y=self.y_init.expand(shape).clone(), z=self.z_init.expand(shape).clone())

    def reset_carry(self, carry: Carry, reset: Tensor) -> Carry:
        """Rows where ``reset`` (B,) is true go back to the initial ``y`` and ``z``."""
        mask = reset.view(-1, 1, 1)
        return Carry(
            y=torch.where(mask, self.y_init.to(carry.y.dtype), carry.y),
            z=torch.where(mask, self.z_init.to(carry.z.dtype), carry.z),
        )

    def embed(self, tokens: Tensor, puzzle_ids: Tensor) -> Tensor:
        """``x``: the puzzle-embedding prefix (position 0, then zeros) and the cell tokens,
        scaled."""
        cells = self.embed_tokens(tokens.long())  # (B, 81, d)
        prefix = cells.new_zeros(cells.shape[0], self.cfg.puzzle_emb_len, self.cfg.d)
        prefix[:, 0] = self.puzzle_emb(puzzle_ids.long()).to(cells.dtype)
        return self.embed_scale * torch.cat((prefix, cells), dim=1)  # (B, L, d)

    def _rope(self) -> tuple[Tensor, Tensor] | None:
        return (self.rope_cos, self.rope_sin) if self.cfg.mixer == "attention" else None

    def latent_recursion(
        self, x: Tensor, y: Tensor, z: Tensor, n: int, perturb: Perturb | None = None
    ) -> tuple[Tensor, Tensor]:
        """``n`` times ``z <- net(z, y + x)``, then ``y <- net(y, z)``; ``perturb`` (inference
        only, e.g. noise) first changes ``z``. All three are token-major ``(L, B, d)``."""
        rope = self._rope()
        if perturb is not None:
            z = perturb(z.transpose(0, 1)).transpose(0, 1)  # perturb sees (B, L, d)
        for _ in range(n):
            z = self.L_level(z, y + x, rope)
        y = self.L_level(y, z, rope)
        return y, z

    def forward(
        self,
        carry: Carry,
        tokens: Tensor,
        puzzle_ids: Tensor,
        n: int,
        T: int,
        perturb: Perturb | None = None,
    ) -> StepOutput:
        """One supervision step at depth ``(n, T)``: only the last of the ``T`` cycles has gradient.

        The recursion runs token-major, ``(L, B, d)``: the ``mlp`` mixer's and the channel
        SwiGLU's products then read and write contiguous memory with no transposes (the carry
        stays ``(B, L, d)`` outside; a carry this method returned converts back for free).
        ``perturb`` changes ``z`` at the start of every latent recursion (test-time noise,
        ``engine.solving``); training never passes it, so its path is unchanged."""
        major = lambda t: t.transpose(0, 1).contiguous()  # noqa: E731  (B, L, d) -> (L, B, d)
        x = major(self.embed(tokens, puzzle_ids))
        y, z = major(carry.y), major(carry.z)
        with torch.no_grad():
            for _ in range(T - 1):
                y, z = self.latent_recursion(x, y, z, n, perturb)
        y, z = self.latent_recursion(x, y, z, n, perturb)
        logits = self.lm_head(y[self.cfg.puzzle_emb_len :]).transpose(0, 1)  # (B, 81, vocab)
        q_halt = self.q_head(y[0]).float()[:, 0]
        carry = Carry(y=y.detach().transpose(0, 1), z=z.detach().transpose(0, 1))
        return StepOutput(carry=carry, logits=logits, q_halt=q_halt)
