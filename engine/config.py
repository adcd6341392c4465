"""Typed, self-validating run configuration: one frozen dataclass per concern, nested in
:class:`RunConfig`, and ``--set section.field=value`` overrides; the presets are in
``engine.presets``.

Paper symbols: ``n`` latent recursions (``n_latent``), ``T`` recursion cycles (``n_cycles``),
``N_sup`` supervision steps (``n_sup``), ``d`` width. Defaults are the TRM Sudoku-Extreme recipe
(Jolicoeur-Martineau, 2025) and CGAR's schedule (Qasim and Zhang, 2025).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value or override is invalid; the message names the field."""


INT64_MAX = 2**63 - 1  # the largest count torch can index or allocate
SEED_LIMIT = 2**32  # seeds are 32-bit: numpy and torch take them, and derived seeds stay in range
INT32_MAX = 2**31 - 1  # supervision steps are counted in int32 tensors


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{name}: {message}")


def _check_numbers(section: str, values: Any) -> None:
    """Every float field of a config dataclass is finite; every integer fits in an int64.

    Runs first in each ``__post_init__``, so no range check below ever sees ``inf`` or ``nan``
    (``nan`` fails every comparison; ``inf`` passes "must be positive").
    """
    for f in dataclasses.fields(values):
        value = getattr(values, f.name)
        name = f"{section}.{f.name}"
        if isinstance(value, float):
            _check(math.isfinite(value), name, f"must be a finite number, got {value}")
        elif isinstance(value, int) and not isinstance(value, bool):
            _check(
                -INT64_MAX <= value <= INT64_MAX,
                name,
                f"must fit in 64 bits (at most {INT64_MAX:,}), got {value:,}",
            )


@dataclass(frozen=True)
class ModelConfig:
    """The TRM network (DESIGN.md); what the checkpoint needs to rebuild the model."""

    d: int = 512  # width (hidden size)
    n_layers: int = 2  # layers of the one shared network
    expansion: float = 4.0  # SwiGLU expansion factor
    mixer: str = "mlp"  # token mixer: "mlp" (over the sequence axis) or "attention" (RoPE)
    n_heads: int = 8  # attention heads (mixer="attention")
    n_latent: int = 6  # n: latent recursions per cycle at full depth
    n_cycles: int = 3  # T: recursion cycles per supervision step at full depth
    n_sup: int = 16  # N_sup: maximum supervision (halting) steps
    n_puzzle_ids: int = 1  # rows of the learned puzzle embedding (Sudoku: one shared id)
    puzzle_emb_len: int = 16  # prefix positions before the 81 cells
    vocab_size: int = 11  # token ids, DESIGN.md
    seq_len: int = 81  # cells
    rope_theta: float = 10000.0  # RoPE base (mixer="attention")
    rms_eps: float = 1e-5  # RMSNorm epsilon
    halt_bias_init: float = -5.0  # initial bias of the halting logit (reference: -5, never halt)

    def __post_init__(self) -> None:
        _check_numbers("model", self)
        _check(self.d > 0, "model.d", "must be positive")
        _check(self.n_layers > 0, "model.n_layers", "must be positive")
        _check(self.expansion > 0, "model.expansion", "must be positive")
        _check(self.mixer in ("mlp", "attention"), "model.mixer", "must be 'mlp' or 'attention'")
        _check(self.n_heads > 0, "model.n_heads", "must be positive")
        if self.mixer == "attention":
            _check(self.d % self.n_heads == 0, "model.n_heads", "must divide model.d")
            _check((self.d // self.n_heads) % 2 == 0, "model.n_heads", "head width must be even")
        _check(self.n_latent >= 1, "model.n_latent", "must be >= 1")
        _check(self.n_cycles >= 1, "model.n_cycles", "must be >= 1")
        _check(1 <= self.n_sup <= INT32_MAX, "model.n_sup", f"must be in 1..{INT32_MAX:,}")
        _check(self.n_puzzle_ids >= 1, "model.n_puzzle_ids", "must be >= 1")
        _check(self.puzzle_emb_len >= 1, "model.puzzle_emb_len", "must be >= 1")
        _check(self.vocab_size == 11, "model.vocab_size", "Sudoku tokens need 11 (DESIGN.md)")
        _check(self.seq_len == 81, "model.seq_len", "Sudoku has 81 cells")
        _check(self.rope_theta > 0, "model.rope_theta", "must be positive")
        _check(self.rms_eps > 0, "model.rms_eps", "must be positive")

    @property
    def total_len(self) -> int:
        """Sequence length the network sees: puzzle-embedding prefix plus cells (97)."""
        return self.puzzle_emb_len + self.seq_len


@dataclass(frozen=True)
class Stage:
    """One depth stage of the Progressive Depth Curriculum: used while ``rho < until_rho``."""

    until_rho: float  # training progress (step / total) at which this stage ends
    n: int  # latent recursions
    T: int  # recursion cycles

    def __post_init__(self) -> None:
        _check_numbers("curriculum.stages", self)


@dataclass(frozen=True)
class CurriculumConfig:
    """CGAR: Progressive Depth Curriculum (PDC) and Hierarchical Supervision Weighting (HSW)."""

    depth: bool = False  # PDC on: depth follows `stages`; off: always full depth
    stages: tuple[Stage, ...] = (Stage(0.3, 2, 1), Stage(0.6, 4, 2), Stage(1.0, 6, 3))
    hsw: bool = False  # HSW on: row loss weighted by lambda^(t-1) / Z
    hsw_lambda: float = 0.7  # lambda, the per-step decay of HSW
    # Clue curriculum (an addition, not CGAR's: engine.curriculum.clue_target): training puzzles
    # get answer cells revealed up to `clues_start` givens at the start, fewer and fewer until
    # rho = `clues_until`, then none (the data's own givens).
    clues: bool = False
    clues_start: int = 60
    clues_until: float = 0.6

    def __post_init__(self) -> None:
        _check_numbers("curriculum", self)
        stages = tuple(s if isinstance(s, Stage) else Stage(*s) for s in self.stages)
        object.__setattr__(self, "stages", stages)
        _check(len(stages) >= 1, "curriculum.stages", "needs at least one stage")
        rhos = [s.until_rho for s in stages]
        _check(
            rhos == sorted(rhos) and len(set(rhos)) == len(rhos),
            "curriculum.stages",
            "until_rho must increase strictly",
        )
        _check(rhos[-1] >= 1.0, "curriculum.stages", "the last stage must run until rho = 1.0")
        _check(
            all(s.n >= 1 and s.T >= 1 for s in stages), "curriculum.stages", "n and T must be >= 1"
        )
        _check(0.0 < self.hsw_lambda <= 1.0, "curriculum.hsw_lambda", "must be in (0, 1]")
        _check(0 <= self.clues_start <= 81, "curriculum.clues_start", "must be in 0..81")
        _check(0.0 < self.clues_until <= 1.0, "curriculum.clues_until", "must be in (0, 1]")


OPTIMIZERS = ("adam-atan2", "muon")


@dataclass(frozen=True)
class OptimConfig:
    """AdamATan2 for the network, sign-SGD for the puzzle embedding, warm-up schedule, EMA."""

    # "adam-atan2" (the reference) or "muon": Muon for the shared network's 2-D weights, at
    # `lr` and `weight_decay` with Moonshot's AdamW-matched update scale (engine.optim).
    optimizer: str = "adam-atan2"
    muon_lr: float = 0.0  # Muon's peak learning rate, on the same schedule; 0 = `lr`
    lr: float = 1e-4  # peak learning rate
    lr_warmup_steps: int = 2000  # linear warm-up from 0
    lr_schedule: str = "constant"  # after warm-up: "constant" (reference Sudoku) or "cosine"
    lr_min_ratio: float = 0.1  # cosine floor as a fraction of lr
    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = 1.0  # decoupled
    puzzle_emb_lr: float = 1e-4  # sign-SGD learning rate
    puzzle_emb_weight_decay: float = 1.0  # decoupled
    ema: float = 0.999  # EMA decay of weights for evaluation and the saved model; 0 = off

    def __post_init__(self) -> None:
        _check_numbers("optim", self)
        _check(
            self.optimizer in OPTIMIZERS,
            "optim.optimizer",
            f"must be one of {', '.join(repr(o) for o in OPTIMIZERS)}",
        )
        _check(self.lr > 0, "optim.lr", "must be positive")
        _check(self.muon_lr >= 0, "optim.muon_lr", "must be >= 0 (0: the same as optim.lr)")
        _check(self.lr_warmup_steps >= 0, "optim.lr_warmup_steps", "must be >= 0")
        _check(
            self.lr_schedule in ("constant", "cosine"),
            "optim.lr_schedule",
            "must be 'constant' or 'cosine'",
        )
        _check(0.0 <= self.lr_min_ratio <= 1.0, "optim.lr_min_ratio", "must be in [0, 1]")
        _check(0.0 <= self.beta1 < 1.0, "optim.beta1", "must be in [0, 1)")
        _check(0.0 <= self.beta2 < 1.0, "optim.beta2", "must be in [0, 1)")
        _check(self.weight_decay >= 0, "optim.weight_decay", "must be >= 0")
        _check(self.puzzle_emb_lr >= 0, "optim.puzzle_emb_lr", "must be >= 0")
        _check(self.puzzle_emb_weight_decay >= 0, "optim.puzzle_emb_weight_decay", "must be >= 0")
        _check(0.0 <= self.ema < 1.0, "optim.ema", "must be in [0, 1)")


@dataclass(frozen=True)
class DataConfig:
    """Where puzzles come from and how they are augmented."""

    path: str = ""  # CSV, "train.csv,test.csv" or a reference-layout folder; "" = generated default
    n_train: int = 1000  # generated default: training puzzles (Sudoku-Extreme-1K uses 1,000)
    n_test: int = 1000  # generated default and cap on the held-out split used for evaluation
    min_rating: int = 0  # generated default: minimum guesses per puzzle
    min_clues: int = (
        0  # generated default: reveal answer cells up to this many givens (0 = minimal)
    )
    augment: str = "fresh"  # "fresh" random shuffles per sample, "fixed" n_aug per puzzle, "none"
    n_aug: int = 1000  # augment="fixed": shuffles per training puzzle (the TRM recipe)
    seed: int = 0  # data generation and sampling seed

    def __post_init__(self) -> None:
        _check_numbers("data", self)
        _check(self.n_train >= 1, "data.n_train", "must be >= 1")
        _check(self.n_test >= 1, "data.n_test", "must be >= 1")
        _check(self.min_rating >= 0, "data.min_rating", "must be >= 0")
        _check(0 <= self.min_clues <= 81, "data.min_clues", "must be in 0..81")
        _check(
            self.augment in ("fresh", "fixed", "none"),
            "data.augment",
            "must be 'fresh', 'fixed' or 'none'",
        )
        _check(self.n_aug >= 1, "data.n_aug", "must be >= 1")
        _check(0 <= self.seed < SEED_LIMIT, "data.seed", f"must be in 0..{SEED_LIMIT - 1:,}")


@dataclass(frozen=True)
class TrainConfig:
    """The training loop: batch, length, halting, cadence, device and precision."""

    batch_size: int = 768  # global batch (rows advanced by one supervision step per step)
    epochs: int = 50000  # an epoch is one pass of len(train) samples
    max_steps: int = 0  # if > 0, caps total optimizer steps (overrides epochs)
    halt_exploration: float = 0.1  # probability of a random minimum halting step in 2..N_sup
    halt_loss_weight: float = 0.5  # weight of the halting BCE
    stagger_start: bool = (
        True  # row i of the first batch starts at step i mod N_sup (see train_step)
    )
    eval_every: int = 0  # steps between evaluations; 0 = ten per run
    eval_batch_size: int = 0  # 0 = batch_size
    checkpoint_every: int = 0  # steps between checkpoints; 0 = at each evaluation
    log_every: int = 10  # steps between `train` events
    seed: int = 0  # model init and training randomness
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", "mps"
    precision: str = "auto"  # "auto", "fp32", "bf16" (autocast)
    compile: str = "auto"  # "auto", "on", "off" (torch.compile)

    def __post_init__(self) -> None:
        _check_numbers("train", self)
        _check(self.batch_size >= 1, "train.batch_size", "must be >= 1")
        _check(self.epochs >= 1, "train.epochs", "must be >= 1")
        _check(self.max_steps >= 0, "train.max_steps", "must be >= 0")
        _check(0.0 <= self.halt_exploration <= 1.0, "train.halt_exploration", "must be in [0, 1]")
        _check(self.halt_loss_weight >= 0, "train.halt_loss_weight", "must be >= 0")
        _check(self.eval_every >= 0, "train.eval_every", "must be >= 0")
        _check(self.eval_batch_size >= 0, "train.eval_batch_size", "must be >= 0")
        _check(self.checkpoint_every >= 0, "train.checkpoint_every", "must be >= 0")
        _check(self.log_every >= 1, "train.log_every", "must be >= 1")
        _check(0 <= self.seed < SEED_LIMIT, "train.seed", f"must be in 0..{SEED_LIMIT - 1:,}")
        _check(
            self.precision in ("auto", "fp32", "bf16"),
            "train.precision",
            "must be 'auto', 'fp32' or 'bf16'",
        )
        _check(
            self.compile in ("auto", "on", "off"), "train.compile", "must be 'auto', 'on' or 'off'"
        )


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; written to ``config.json`` and into every checkpoint."""

    preset: str = "paper"  # the preset this started from (informative)
    model: ModelConfig = field(default_factory=ModelConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (stages as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown keys are rejected."""
        kwargs: dict[str, Any] = {}
        sections = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in data.items():
            _check(key in sections, key, "unknown configuration section")
            if isinstance(value, dict):
                section_cls = _section_classes()[key]
                names = {f.name for f in dataclasses.fields(section_cls)}
                for k in value:
                    _check(k in names, f"{key}.{k}", "unknown field")
                if key == "curriculum" and "stages" in value:
                    value = {
                        **value,
                        "stages": tuple(
                            Stage(**s) if isinstance(s, dict) else Stage(*s)
                            for s in value["stages"]
                        ),
                    }
                kwargs[key] = section_cls(**value)
            else:
                kwargs[key] = value
        return cls(**kwargs)


def _section_classes() -> dict[str, type]:
    return {
        "model": ModelConfig,
        "curriculum": CurriculumConfig,
        "optim": OptimConfig,
        "data": DataConfig,
        "train": TrainConfig,
    }


# ---------------------------------------------------------------------------- overrides


def _parse_value(name: str, raw: str, annotation: Any) -> Any:
    """Parse ``raw`` to the field's type; the error names the field."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        low = raw.strip().lower()
        _check(
            low in ("true", "false", "1", "0", "on", "off", "yes", "no"),
            name,
            f"expected a boolean, got {raw!r}",
        )
        return low in ("true", "1", "on", "yes")
    if annotation is int:
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if annotation is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if annotation is str:
        return raw
    if origin is tuple:  # curriculum.stages: "0.3:2:1,0.6:4:2,1.0:6:3"
        try:
            parts = [part.split(":") for part in raw.split(",")]
            numbers = [(float(rho), int(n), int(t)) for rho, n, t in parts]
        except ValueError:
            raise ConfigError(
                f"{name}: expected stages as until_rho:n:T,... (e.g. 0.3:2:1,0.6:4:2,1.0:6:3), "
                f"got {raw!r}"
            ) from None
        return tuple(Stage(*stage) for stage in numbers)  # Stage checks its own numbers
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(f"{name}: cannot be set from the command line")
    raise ConfigError(f"{name}: cannot be set from the command line")


def apply_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``section.field=value`` overrides, type-checked; unknown keys are rejected."""
    sections = _section_classes()
    for item in overrides:
        _check("=" in item, item, "expected section.field=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        _check(key.count(".") == 1, key, "expected section.field (e.g. train.batch_size)")
        section, name = key.split(".")
        _check(section in sections, key, f"unknown section (known: {', '.join(sections)})")
        hints = typing.get_type_hints(sections[section])
        _check(name in hints, key, f"unknown field of {section}")
        value = _parse_value(key, raw.strip(), hints[name])
        new_section = dataclasses.replace(getattr(cfg, section), **{name: value})
        cfg = dataclasses.replace(cfg, **{section: new_section})
    return cfg
