"""torch.compile of the shared network: when it is switched on, what is compiled, where it is
cached.

What is compiled is the network ``net`` (``TRM.L_level``), not the recursion around it. The
network has fixed shapes for a given batch, while CGAR's depth curriculum only changes how many
times it is called (``n`` and ``T``), so a change of stage never recompiles; two graphs are
compiled, the gradient-free cycles' and the last cycle's with its backward. Inductor fuses the
element-wise work around the matrix products (SwiGLU's ``silu(gate) * up``, the residual adds,
RMSNorm and their backward), about a third of an eager CPU step.

``train.compile``:

- ``on`` / ``off``: as asked.
- ``auto``: on for CUDA; on a CPU, on when the run is at least :data:`PAYS_AFTER_STEPS` optimizer
  steps long and a C++ compiler is installed (inductor builds its CPU kernels with one); off on
  MPS. Compiling costs tens of seconds at the first step of a run (shown as the ``compile``
  event), and a few seconds when its kernels are already cached: the cache is
  ``$TORCHINDUCTOR_CACHE_DIR``, by default ``~/.cache/trm/inductor``, so only the first run of a
  shape pays in full. README, "Speed", has the measured gain.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.config import ConfigError
from engine.model import TRM

PAYS_AFTER_STEPS = 200  # a CPU run this long repays even an uncached compile several times over
COMPILE_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class CompileChoice:
    """Whether a run compiles its network, and why (printed at start-up)."""

    on: bool
    why: str


def cache_dir() -> Path:
    """Inductor's kernel cache: ``$TORCHINDUCTOR_CACHE_DIR`` or ``~/.cache/trm/inductor``."""
    env = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "trm" / "inductor"


def cpp_compiler() -> str | None:
    """The C++ compiler inductor would use on a CPU (``$CXX``, else ``c++``/``g++``/``clang++``)."""
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return name
    return None


def choose_compile(
    name: str, device: torch.device, total_steps: int, field: str = "train.compile"
) -> CompileChoice:
    """What ``name`` (auto, on, off) means for a run of ``total_steps`` steps on ``device``."""
    if name not in COMPILE_CHOICES:
        raise ConfigError(f"{field}: unknown value {name!r} (use auto, on or off)")
    if name != "auto":
        return CompileChoice(name == "on", f"{field}={name}")
    if device.type == "cuda":
        return CompileChoice(True, "auto: CUDA")
    if device.type != "cpu":
        return CompileChoice(False, f"auto: off on {device.type}")
    if cpp_compiler() is None:
        return CompileChoice(False, "auto: no C++ compiler found (inductor needs one on a CPU)")
    if total_steps < PAYS_AFTER_STEPS:
        return CompileChoice(
            False,
            f"auto: {total_steps} steps is too short to repay compiling (<{PAYS_AFTER_STEPS})",
        )
    return CompileChoice(True, f"auto: {total_steps} steps on a CPU")


def compile_network(model: TRM) -> None:
    """Compile ``model``'s shared network in place (its state-dict keys do not change).

    A compiler failure (a broken toolchain, an unsupported op) falls back to running the network
    eagerly with torch's warning, rather than ending the run."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir()))
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True
    model.L_level.compile()
