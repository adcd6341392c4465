"""Optimizers and schedules of the TRM reference trainer, in plain PyTorch (CPU, CUDA, MPS).

- :class:`AdamATan2` follows the ``adam-atan2`` package (imoneoi) that HRM and TRM use, whose
  kernel is CUDA-only. Its exact form, per parameter at step ``k``::

      p <- p * (1 - lr * weight_decay)                       (decoupled decay, first)
      m <- beta1 * m + (1 - beta1) * g
      v <- beta2 * v + (1 - beta2) * g^2
      p <- p - (lr / (1 - beta1^k)) * atan2(m, sqrt(v) / sqrt(1 - beta2^k))

  That is Adam with ``m / (sqrt(v) + eps)`` replaced by ``atan2`` and no epsilon. The first-moment
  bias correction sits outside the ``atan2`` as a step size (like PyTorch's Adam); the scale
  factors ``a``, ``b`` of lucidrains' ``adam-atan2-pytorch`` (``a * atan2(m, b * sqrt(v))``) are
  not used (``a = b = 1``). The moments have the parameter's dtype (the model keeps fp32 weights
  and computes in bf16 under autocast, so the state is fp32).
- :class:`SignSGD` is the reference's puzzle-embedding optimizer (``CastedSparseEmbeddingSignSGD``):
  decoupled decay, then a step of ``-lr * sign(grad)``, only on embedding rows the batch used.
  It departs in one detail: the reference updates the rows whose ids were in the batch; here the
  embedding is an ordinary parameter, so a row counts as used when its gradient is not all zero.
- :func:`build_optimizers`: the two (three with Muon, a named option), over the parameters each
  one trains; :func:`set_lr` moves them along the schedule.
- :func:`lr_at`: linear warm-up from 0, then constant or cosine (the reference's
  ``cosine_schedule_with_warmup_lr_lambda`` with ``num_cycles = 0.5``).
- :class:`EMA`: exponential moving average of the weights, as the reference's ``EMAHelper``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from engine.config import OptimConfig


class AdamATan2(torch.optim.Optimizer):
    """Adam with the ``atan2`` update and decoupled weight decay (imoneoi's ``adam-atan2``)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.95),
        weight_decay: float = 0.0,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Apply one update to every parameter that has a gradient; returns ``closure()`` if
        given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("AdamATan2 does not support sparse gradients")
                state = self.state[p]
                if not state:
                    # The step count lives on the CPU so bias corrections need no device sync.
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                params.append(p)
                grads.append(p.grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            if params:
                _adam_atan2(params, grads, exp_avgs, exp_avg_sqs, steps, group)
        return loss


def _adam_atan2(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[Tensor],
    group: dict[str, Any],
) -> None:
    lr, weight_decay = group["lr"], group["weight_decay"]
    beta1, beta2 = group["betas"]
    torch._foreach_add_(steps, 1.0)
    counts = [float(s) for s in steps]
    step_sizes = [-lr / (1.0 - beta1**k) for k in counts]
    bias_correction2_sqrt = [math.sqrt(1.0 - beta2**k) for k in counts]

    if weight_decay != 0.0:
        torch._foreach_mul_(params, 1.0 - lr * weight_decay)
    torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_div_(denom, bias_correction2_sqrt)
    # PyTorch has no foreach atan2; one op per tensor is cheap next to the model.
    updates = [torch.atan2(m, d) for m, d in zip(exp_avgs, denom, strict=True)]
    torch._foreach_mul_(updates, step_sizes)
    torch._foreach_add_(params, updates)


class SignSGD(torch.optim.Optimizer):
    """Sign-SGD with decoupled weight decay on the rows (first axis) whose gradient is nonzero."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float,
        weight_decay: float = 0.0,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update the used rows: ``p <- p * (1 - lr * wd) - lr * sign(grad)``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, weight_decay = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.to_dense() if p.grad.is_sparse else p.grad
                rows = grad.reshape(grad.shape[0], -1).ne(0).any(dim=1) if grad.ndim else grad.ne(0)
                used = rows.reshape(rows.shape + (1,) * max(0, grad.ndim - 1))
                updated = p * (1.0 - lr * weight_decay) - lr * torch.sign(grad)
                # torch.where keeps unused rows bit-identical and needs no device sync.
                p.copy_(torch.where(used, updated, p))
        return loss


def build_optimizers(net: nn.Module, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
    """The run's optimizers by name (the names are the checkpoint's keys).

    ``adam``: AdamATan2 for the network; ``sign``: sign-SGD for the puzzle embedding (parameters
    ``puzzle_emb.*``). With ``optimizer = "muon"`` the shared network's 2-D weights
    (``L_level.*``) move to ``muon``, PyTorch's Muon at ``muon_lr`` (default: ``lr``) and
    ``weight_decay`` with ``adjust_lr_fn="match_rms_adamw"`` (Moonshot's scaling: updates of RMS
    0.2 x lr, AdamW's, so that an AdamW learning rate carries over; AdamATan2's updates are
    larger, up to pi/2 x lr), momentum 0.95 with Nesterov (Muon's defaults);
    embeddings, heads and biases stay on AdamATan2. Each fused gate/up weight is orthogonalised
    as one matrix.
    """
    named = list(net.named_parameters())
    emb = [p for n, p in named if n.startswith("puzzle_emb.")]
    matrices = [
        p for n, p in named if cfg.optimizer == "muon" and n.startswith("L_level.") and p.ndim == 2
    ]
    chosen = {id(p) for p in emb + matrices}
    rest = [p for _, p in named if id(p) not in chosen]
    optimizers: dict[str, torch.optim.Optimizer] = {
        "adam": AdamATan2(
            rest, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay
        ),
        "sign": SignSGD(emb, lr=cfg.puzzle_emb_lr, weight_decay=cfg.puzzle_emb_weight_decay),
    }
    if matrices:
        optimizers["muon"] = torch.optim.Muon(
            matrices,
            lr=cfg.muon_lr or cfg.lr,
            weight_decay=cfg.weight_decay,
            adjust_lr_fn="match_rms_adamw",
        )
    return optimizers


def set_lr(optimizers: dict[str, torch.optim.Optimizer], lr: float, cfg: OptimConfig) -> None:
    """Every optimizer at the schedule's ``lr``; sign-SGD scaled by ``puzzle_emb_lr / lr``, Muon
    by ``muon_lr / lr`` (when set)."""
    peaks = {"sign": cfg.puzzle_emb_lr, "muon": cfg.muon_lr or cfg.lr}
    for name, opt in optimizers.items():
        scale = peaks.get(name, cfg.lr) / cfg.lr
        for group in opt.param_groups:
            group["lr"] = lr * scale


def lr_at(step: int, cfg: OptimConfig, total_steps: int) -> float:
    """Learning rate for 1-based optimizer ``step`` (the reference counts from 1).

    Linear warm-up ``lr * step / lr_warmup_steps``, then ``lr`` (constant) or a half cosine from
    ``lr`` down to ``lr * lr_min_ratio`` at ``total_steps``.
    """
    if step < cfg.lr_warmup_steps:
        return cfg.lr * step / cfg.lr_warmup_steps
    if cfg.lr_schedule == "constant":
        return cfg.lr
    progress = (step - cfg.lr_warmup_steps) / max(1, total_steps - cfg.lr_warmup_steps)
    progress = min(1.0, max(0.0, progress))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.lr * (cfg.lr_min_ratio + (1.0 - cfg.lr_min_ratio) * cosine)


def _unwrap(model: nn.Module) -> nn.Module:
    """The plain module under torch.compile / DistributedDataParallel wrappers (stable names)."""
    while True:
        if isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod  # type: ignore[assignment]
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


class EMA:
    """Exponential moving average of a model's weights: ``ema <- decay * ema + (1 - decay) * p``.

    Floating-point parameters are averaged; buffers and integer tensors are copied. ``decay = 0``
    means off: the average always equals the model.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self._averaged = {k: v.detach().clone() for k, v in _unwrap(model).state_dict().items()}
        self._averaged_keys = self._float_param_names(model)

    @staticmethod
    def _float_param_names(model: nn.Module) -> list[str]:
        return [n for n, p in _unwrap(model).named_parameters() if p.dtype.is_floating_point]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average one step toward ``model``'s current weights."""
        current = _unwrap(model).state_dict()
        averaged_keys = set(self._averaged_keys)
        ema = [self._averaged[k] for k in self._averaged_keys]
        now = [current[k].detach() for k in self._averaged_keys]
        if ema:
            torch._foreach_lerp_(ema, now, 1.0 - self.decay)
        for key, value in current.items():
            if key not in averaged_keys:
                self._averaged[key].copy_(value)

    def averaged(self) -> dict[str, Tensor]:
        """The averaged weights as a state dict the model's ``load_state_dict`` accepts."""
        return dict(self._averaged)

    def copy_to(self, model: nn.Module) -> None:
        """Write the averaged weights into ``model`` (for evaluation or saving)."""
        _unwrap(model).load_state_dict(self._averaged)

    def state_dict(self) -> dict[str, Any]:
        """Checkpointable state: the decay and the averaged weights (plain dict of tensors)."""
        return {"decay": self.decay, "averaged": dict(self._averaged)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`; the key set must match the model's."""
        averaged = state["averaged"]
        missing = set(self._averaged) - set(averaged)
        unexpected = set(averaged) - set(self._averaged)
        if missing or unexpected:
            raise KeyError(
                f"EMA state does not match the model (missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)})"
            )
        with torch.no_grad():
            for key, value in averaged.items():
                self._averaged[key].copy_(value)
        self.decay = float(state["decay"])
