"""Published TRM and CGAR checkpoints: recognise a reference state dict, infer its architecture
from the tensor shapes, and map it onto our :class:`engine.model.TRM` (and back).

Reference facts relied on (TRM reference code, ``models/recursive_reasoning/trm.py`` and
``models/layers.py``; the CGAR authors train with the same code):

- The trainer saves ``model.state_dict()`` of the ``torch.compile``-d loss head, so keys read
  ``_orig_mod.model.inner.<name>``; EMA weights are saved in the same layout.
- ``inner.H_init`` / ``inner.L_init`` (bf16, ``(d,)``) are the initial ``z_H`` / ``z_L``, i.e. our
  ``y_init`` / ``z_init``. ``inner.embed_tokens.embedding_weight`` ``(11, d)``, ``inner.lm_head``
  (no bias), ``inner.q_head`` ``(2, d)`` + bias (row 0 = halt logit),
  ``inner.puzzle_emb.weights`` ``(n_ids, d)`` placed at position 0 of the ``puzzle_emb_len`` prefix.
- One network ``inner.L_level.layers.{i}``: post-norm blocks, RMSNorm eps 1e-5 without weight,
  SwiGLU ``gate_up_proj`` (gate rows first, then up) and ``down_proj`` with inner width
  ``round(expansion * width * 2/3)`` rounded up to a multiple of 256; token mixer either ``mlp_t``
  (a SwiGLU over the ``puzzle_emb_len + 81`` positions) or ``self_attn`` (``qkv_proj`` rows q, k,
  v; rotate-half RoPE, base 10000; ``o_proj``). Our layers store all of these identically, so
  the mapping is a renaming plus a cast to float32.
- Non-persistent buffers (``rotary_emb.cos_cached``/``sin_cached``, ``puzzle_emb.local_*``) are
  normally absent; when present they are recomputed state and are skipped.

What cannot be read from shapes: ``n`` and ``T`` (the reference's ``L_cycles`` and ``H_cycles``),
the attention head count, and (attention mixer only) the prefix length. They come from arguments
with the paper's values 6, 3, 8 and 16. Accepted files: a plain state dict, or a dict that holds
one under ``ema``, ``ema_state_dict``, ``model``, ``model_state_dict`` or ``state_dict`` (tried
in that order, so EMA weights win). Departures, refused with a :class:`CheckpointError`: HRM's
two-network layout (``H_level``), learned position embeddings (``embed_pos``) and puzzle
embeddings wider than ``d``, none of which the Sudoku recipe uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from engine.checkpoint import CheckpointError, load_checkpoint
from engine.config import ConfigError, ModelConfig, RunConfig
from engine.layers import swiglu_width
from engine.model import TRM

PAPER_N_LATENT = 6  # n (reference L_cycles)
PAPER_N_CYCLES = 3  # T (reference H_cycles)
PAPER_N_HEADS = 8
PAPER_PUZZLE_EMB_LEN = 16

ANCHOR = "inner.embed_tokens.embedding_weight"  # the key that marks a reference state dict
REFERENCE_PREFIX = "_orig_mod.model."  # what the reference trainer's compiled loss head adds
_PREFIX_PARTS = ("_orig_mod.", "module.", "model.")
_NESTED_KEYS = ("ema", "ema_state_dict", "model", "model_state_dict", "state_dict")
_SKIPPED = {
    "inner.rotary_emb.cos_cached",
    "inner.rotary_emb.sin_cached",
    "inner.puzzle_emb.local_weights",
    "inner.puzzle_emb.local_ids",
}
# Reference name -> our name where they differ; every other key is ours after "inner.".
_RENAMED = {
    "inner.H_init": "y_init",
    "inner.L_init": "z_init",
    "inner.embed_tokens.embedding_weight": "embed_tokens.weight",
    "inner.puzzle_emb.weights": "puzzle_emb.weight",
}
_UNSUPPORTED = {
    "inner.H_level.": "an HRM checkpoint (two networks), not TRM",
    "inner.embed_pos.": "learned position embeddings are not supported (TRM uses none or RoPE)",
}
_OURS_TO_REFERENCE = {ours: ref for ref, ours in _RENAMED.items()}
_LAYER = re.compile(r"inner\.L_level\.layers\.(\d+)\.")


@dataclass
class ReferenceModel:
    """A reference checkpoint mapped onto our model: its configuration and float32 weights."""

    config: ModelConfig
    state_dict: dict[str, Tensor]  # our TRM's keys

    def run_config(self) -> RunConfig:
        """A run configuration around the inferred model (other sections at their defaults)."""
        return RunConfig(preset="reference", model=self.config)

    def build(self) -> TRM:
        """A TRM holding these weights (on the CPU)."""
        model = TRM(self.config)
        model.load_state_dict(self.state_dict)
        return model


def find_reference_weights(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The reference state dict in a loaded file, keys stripped to ``inner.*``; None if absent."""
    candidates = [state] + [state[k] for k in _NESTED_KEYS if isinstance(state.get(k), Mapping)]
    for candidate in candidates:
        anchored = [k for k in candidate if isinstance(k, str) and k.endswith(ANCHOR)]
        if not anchored:
            continue
        prefix = anchored[0][: -len(ANCHOR)]
        if not _is_wrapper_prefix(prefix):
            continue
        return {_strip(key, prefix): value for key, value in candidate.items()}
    return None


def _is_wrapper_prefix(prefix: str) -> bool:
    while prefix:
        part = next((p for p in _PREFIX_PARTS if prefix.startswith(p)), None)
        if part is None:
            return False
        prefix = prefix[len(part) :]
    return True


def _strip(key: Any, prefix: str) -> Any:
    # A key without the common prefix is kept as is, to be reported as unexpected.
    return key[len(prefix) :] if isinstance(key, str) and key.startswith(prefix) else key


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__


def _expansion(widths: list[tuple[int, int]]) -> float | None:
    """An expansion factor giving SwiGLU inner width ``inner`` at each ``(width, inner)``; the
    paper's 4 when it fits, else a short number inside the interval that does."""
    # swiglu_width(w, e) == inner  <=>  inner - 256 < round(e * w * 2/3) <= inner.
    lo = max((inner - 255.5) / (w * 2 / 3) for w, inner in widths)
    hi = min((inner + 0.5) / (w * 2 / 3) for w, inner in widths)
    middle = (lo + hi) / 2
    for e in [4.0, *(round(middle, digits) for digits in range(4)), middle]:
        if e > 0 and all(swiglu_width(w, e) == inner for w, inner in widths):
            return float(e)
    return None


def infer_config(
    weights: Mapping[str, Any],
    path: Path,
    *,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    n_heads: int | None = None,
    puzzle_emb_len: int | None = None,
) -> ModelConfig:
    """Our model configuration for a reference state dict (keys ``inner.*``), from its shapes."""
    for key in weights:
        for prefix, why in _UNSUPPORTED.items():
            if str(key).startswith(prefix):
                raise CheckpointError(f"{path}: {key}: {why}")
    embed = weights[ANCHOR]
    if not isinstance(embed, Tensor) or embed.ndim != 2 or embed.shape[0] != 11:
        raise CheckpointError(
            f"{path}: {ANCHOR} has shape {_shape(embed)}, expected (11, d): Sudoku's 11 token ids"
        )
    d = int(embed.shape[1])
    layers = sorted({int(m.group(1)) for k in weights if (m := _LAYER.match(str(k)))})
    if not layers:
        raise CheckpointError(f"{path}: no inner.L_level.layers.* keys: no network to load")
    if layers != list(range(len(layers))):
        missing = min(set(range(len(layers))) - set(layers))
        raise CheckpointError(f"{path}: inner.L_level.layers.{missing}.* missing (layers {layers})")
    first = "inner.L_level.layers.0."
    gate_up, mixer_key = first + "mlp.gate_up_proj.weight", first + "mlp_t.down_proj.weight"
    if not isinstance(weights.get(gate_up), Tensor) or weights[gate_up].ndim != 2:
        raise CheckpointError(f"{path}: {gate_up} missing or not a matrix")
    widths = [(d, int(weights[gate_up].shape[0]) // 2)]
    if isinstance(weights.get(mixer_key), Tensor):
        mixer, down_t = "mlp", weights[mixer_key]
        widths.append((int(down_t.shape[0]), int(down_t.shape[-1])))
        inferred = int(down_t.shape[0]) - 81  # mlp_t mixes the prefix and the 81 cells
        if inferred < 1 or puzzle_emb_len not in (None, inferred):
            raise CheckpointError(
                f"{path}: {mixer_key} has shape {_shape(down_t)}: puzzle_emb_len {inferred}"
                + ("" if puzzle_emb_len is None else f", not the {puzzle_emb_len} asked for")
            )
        puzzle_emb_len = inferred
    elif first + "self_attn.qkv_proj.weight" in weights:
        mixer = "attention"
    else:
        raise CheckpointError(f"{path}: {first}*: neither an mlp_t nor a self_attn token mixer")
    expansion = _expansion(widths)
    if expansion is None:
        raise CheckpointError(
            f"{path}: {gate_up} has shape {_shape(weights[gate_up])}: no SwiGLU expansion gives "
            f"these widths ({', '.join(f'{i} at {w}' for w, i in widths)})"
        )
    n_ids = weights.get("inner.puzzle_emb.weights")
    if not isinstance(n_ids, Tensor) or n_ids.ndim != 2:
        raise CheckpointError(
            f"{path}: inner.puzzle_emb.weights missing or not a matrix ({_shape(n_ids)})"
        )
    try:
        return ModelConfig(
            d=d,
            n_layers=len(layers),
            expansion=expansion,
            mixer=mixer,
            n_heads=PAPER_N_HEADS if n_heads is None else n_heads,
            n_latent=PAPER_N_LATENT if n_latent is None else n_latent,
            n_cycles=PAPER_N_CYCLES if n_cycles is None else n_cycles,
            n_puzzle_ids=int(n_ids.shape[0]),
            puzzle_emb_len=PAPER_PUZZLE_EMB_LEN if puzzle_emb_len is None else puzzle_emb_len,
        )
    except ConfigError as e:
        raise CheckpointError(f"{path}: does not fit the inferred architecture: {e}") from e


def reference_to_trm(
    weights: Mapping[str, Any],
    path: Path,
    *,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    n_heads: int | None = None,
    puzzle_emb_len: int | None = None,
) -> ReferenceModel:
    """Map a reference state dict (keys ``inner.*``) onto our TRM, checking every key and shape."""
    cfg = infer_config(
        weights,
        path,
        n_latent=n_latent,
        n_cycles=n_cycles,
        n_heads=n_heads,
        puzzle_emb_len=puzzle_emb_len,
    )
    with torch.device("meta"):
        expected = {k: v.shape for k, v in TRM(cfg).state_dict().items()}
    where = f"d={cfg.d}, {cfg.n_layers} layers, {cfg.mixer} mixer, expansion {cfg.expansion:g}"
    ours: dict[str, Tensor] = {}
    for key, value in weights.items():
        if key in _SKIPPED:
            continue
        name = _RENAMED.get(key, key[len("inner.") :] if str(key).startswith("inner.") else None)
        if name not in expected:
            raise CheckpointError(f"{path}: unexpected key {key!r} for a TRM ({where})")
        if not isinstance(value, Tensor) or not value.is_floating_point():
            raise CheckpointError(f"{path}: {key} is not a floating-point tensor ({_shape(value)})")
        if value.shape != expected[name]:
            raise CheckpointError(
                f"{path}: {key} has shape {_shape(value)}, "
                f"expected {tuple(expected[name])} ({where})"
            )
        ours[name] = value.detach().to(torch.float32, copy=True)  # bf16 H_init/L_init too
    missing = [name for name in expected if name not in ours]
    if missing:
        key = _OURS_TO_REFERENCE.get(missing[0], f"inner.{missing[0]}")
        raise CheckpointError(f"{path}: missing key {key} ({where})")
    return ReferenceModel(config=cfg, state_dict=ours)


def load_reference(
    path: Path,
    *,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    n_heads: int | None = None,
    puzzle_emb_len: int | None = None,
) -> ReferenceModel:
    """Read a reference TRM / CGAR checkpoint file (weights-only) and map it onto our TRM."""
    path = Path(path)
    state = load_checkpoint(path)
    weights = find_reference_weights(state)
    if weights is None:
        if "config" in state and "model" in state:
            raise CheckpointError(f"{path}: already a trm checkpoint, not a reference state dict")
        raise CheckpointError(
            f"{path}: not a reference TRM state dict (no key ending in {ANCHOR!r})"
        )
    return reference_to_trm(
        weights,
        path,
        n_latent=n_latent,
        n_cycles=n_cycles,
        n_heads=n_heads,
        puzzle_emb_len=puzzle_emb_len,
    )


def export_reference(model: TRM, prefix: str = REFERENCE_PREFIX) -> dict[str, Tensor]:
    """Our model's weights in the reference layout (float32; the reference casts on load)."""
    exported = {}
    for name, value in model.state_dict().items():
        key = _OURS_TO_REFERENCE.get(name, f"inner.{name}")
        exported[prefix + key] = value.detach().clone()
    return exported
