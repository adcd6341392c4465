"""A base for scripted stand-ins of the TRM in inference and evaluation tests: what the solving
code reads of a model (``cfg``, ``y_init``'s device, ``initial_carry``) and nothing else; each
subclass scripts its own ``forward``."""

from __future__ import annotations

import types

import torch

from engine.model import Carry


class FakeTRM(torch.nn.Module):
    """``n_sup`` supervision steps at depth (1, 1); the carry ``y`` counts steps per row."""

    def __init__(self, n_sup: int) -> None:
        super().__init__()
        self.cfg = types.SimpleNamespace(n_sup=n_sup, n_latent=1, n_cycles=1)
        self.register_buffer("y_init", torch.zeros(1))

    def initial_carry(self, batch_size: int) -> Carry:
        return Carry(y=torch.zeros(batch_size, 1, 1), z=torch.zeros(batch_size, 1, 1))
