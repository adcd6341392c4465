"""Inference traces: a trained TRM solving puzzles one supervision step at a time, with halting.

Follows the TRM paper's test-time procedure (Jolicoeur-Martineau, 2025): every supervision step is
a deep recursion at full depth ``(n, T)`` from the carried ``(y, z)``; the answer is read from
``y``. The reference evaluation always runs all ``N_sup`` steps (``halt=False`` here); with
``halt=True`` a row stops at the first step whose halting head says "solved" (``q_halt > 0``),
the adaptive computation that CGAR's inference-efficiency figures assume.

Departures from the reference, both for showing what the network believes: the answer at each
cell is the argmax over the nine digit tokens only (ids 2..10; padding and "empty" can never be
chosen), and givens are not overwritten with the puzzle's digits. ``confidence`` is the
probability of the chosen digit under a softmax over those nine digit logits alone (float32).

Rows that halted are frozen (their carry and outputs stop changing) and leave the batch, so a
batch costs as many forward rows as its rows ran steps; the loop ends when every row halted. One
host synchronisation per step reads which rows halted.

:func:`solve_rows` is the same loop over groups of ``k`` rows, the samples of one puzzle
(``engine.solving.sampling``): it also records, per row, the first step whose halting head fired
and the first step whose answer obeys the rules (with that answer), adds optional Gaussian noise to
``z`` at every latent recursion, and lets a whole group leave the batch the step its selection is
decided (``until``). Still one host synchronisation per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.data import to_tokens
from engine.model import TRM, Carry, Perturb
from engine.precision import autocast, resolve_precision
from puzzles.grid import HOUSES, N_CELLS

FIRST_DIGIT_TOKEN = 2  # token id of digit 1 (DESIGN.md: d + 1); digits 1..9 are ids 2..10

# When a group of rows (one puzzle's samples) leaves the batch; every row also leaves when its
# own halting head fires (or at max_steps).
OWN_HALT = "own-halt"  # never as a group: every sample runs to its own halt
FIRST_HALT = "first-halt"  # the step any of its rows' halting head fires
FIRST_VALID = "first-valid"  # the step any of its rows' answer obeys the rules
UNTIL = (OWN_HALT, FIRST_HALT, FIRST_VALID)


@dataclass
class SolveResult:
    """Batched traces of supervision steps (``S = max(halted_at)``; 1 if not ``keep_steps``)."""

    puzzles: np.ndarray  # (B, 81) uint8 givens, 0 = empty
    grids: np.ndarray  # (B, S, 81) uint8 the model's digit at every cell after each step
    confidence: np.ndarray  # (B, S, 81) float32 probability of that digit (softmax over 9 digits)
    q_halt_logit: np.ndarray  # (B, S) float32 halting logit after each step
    halted_at: np.ndarray  # (B,) int64 1-based step whose answer is final
    final: np.ndarray  # (B, 81) uint8 the answer at halted_at


@dataclass
class RowRecords:
    """What :func:`solve_rows` records per row besides the traces (``R`` rows)."""

    fired_at: np.ndarray  # (R,) int64 step at which the halting head fired (q_halt > 0); 0: never
    valid_at: np.ndarray  # (R,) int64 first step whose answer obeys the rules; 0: never
    valid_grid: np.ndarray  # (R, 81) uint8 the answer at valid_at (zeros where never)


@dataclass(frozen=True)
class _Plan:
    """How :func:`solve_rows` runs a batch: groups, when they leave, noise."""

    k: int  # rows per group, contiguous
    until: str  # one of UNTIL
    halt: bool  # a row leaves when its own halting head fires
    sigma: Tensor | None  # (b,) noise scale per row, None: no noise
    generator: torch.Generator | None


@dataclass
class _Trace:
    """One batch's per-step outputs (on the host), before padding to the common ``S``."""

    grids: list[np.ndarray]  # per step (b, 81) uint8
    confidence: list[np.ndarray]  # per step (b, 81) float32
    q_halt: list[np.ndarray]  # per step (b,) float32
    halted_at: np.ndarray  # (b,) int64
    records: RowRecords | None = None  # with a plan


def solve(
    model: TRM,
    puzzles: np.ndarray,
    *,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    max_steps: int | None = None,
    halt: bool = True,
    batch_size: int = 512,
    keep_steps: bool = True,
    precision: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> SolveResult:
    """Solve ``puzzles`` (B, 81) step by step at full depth, batched on the model's device;
    ``precision`` follows ``engine.precision``'s rule for inference."""
    puzzles = _as_puzzles(puzzles)
    n, T, steps = _depth(model, n_latent, n_cycles, max_steps, batch_size)
    dtype = resolve_precision(precision, model.y_init.device, "infer")

    def batch(start: int, chunk: np.ndarray) -> _Trace:
        return _solve_batch(model, chunk, n, T, steps, halt, keep_steps, dtype)

    return _assemble(puzzles, _in_batches(model, puzzles, batch_size, batch, progress))


def solve_rows(
    model: TRM,
    rows: np.ndarray,
    k: int,
    until: str,
    *,
    halt: bool = True,
    sigma: np.ndarray | None = None,
    seed: int = 0,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    max_steps: int | None = None,
    batch_size: int = 512,
    keep_steps: bool = True,
    precision: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> tuple[SolveResult, RowRecords]:
    """Solve ``rows`` (R, 81), groups of ``k`` consecutive rows at a time.

    Every row stops when its halting head fires (unless ``halt`` is off); a whole group also
    stops as ``until`` says (without halting, ``first-halt`` groups run to ``max_steps``).
    ``sigma`` (R,): Gaussian noise of that scale is added to ``z`` at every latent recursion of
    the row (0: none), drawn from a generator seeded with ``seed``. A batch holds
    ``max(1, batch_size // k)`` whole groups.
    """
    rows = _as_puzzles(rows)
    if k < 1 or len(rows) % k:
        raise ValueError(f"k must be >= 1 and divide the {len(rows)} rows, got {k}")
    if until not in UNTIL:
        raise ValueError(f"until must be one of {', '.join(UNTIL)}, got {until!r}")
    if sigma is not None and (len(sigma) != len(rows) or np.min(sigma, initial=0) < 0):
        raise ValueError("sigma must hold one non-negative noise scale per row")
    n, T, steps = _depth(model, n_latent, n_cycles, max_steps, batch_size)
    device = model.y_init.device
    dtype = resolve_precision(precision, device, "infer")
    generator = None
    if sigma is not None:
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)

    def batch(start: int, chunk: np.ndarray) -> _Trace:
        scale = None
        if sigma is not None:
            scale = torch.as_tensor(sigma[start : start + len(chunk)], dtype=torch.float32)
        plan = _Plan(k, until, halt, None if scale is None else scale.to(device), generator)
        return _solve_batch(model, chunk, n, T, steps, halt, keep_steps, dtype, plan)

    per_batch = max(1, batch_size // k) * k
    traces = _in_batches(model, rows, per_batch, batch, progress)
    result = _assemble(rows, traces)
    records = RowRecords(
        fired_at=_concat([t.records.fired_at for t in traces], np.int64),
        valid_at=_concat([t.records.valid_at for t in traces], np.int64),
        valid_grid=_concat([t.records.valid_grid for t in traces], np.uint8).reshape(-1, N_CELLS),
    )
    return result, records


def _in_batches(
    model: TRM,
    rows: np.ndarray,
    per_batch: int,
    batch: Callable[[int, np.ndarray], _Trace],
    progress: Callable[[int], None] | None,
) -> list[_Trace]:
    """``batch(start, rows[start : start + per_batch])`` over all rows, in eval mode (restored
    after), reporting each batch's rows to ``progress``."""
    was_training = model.training
    model.eval()
    traces = []
    try:
        for start in range(0, len(rows), per_batch):
            chunk = rows[start : start + per_batch]
            traces.append(batch(start, chunk))
            if progress is not None:
                progress(len(chunk))
    finally:
        model.train(was_training)
    return traces


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _depth(
    model: TRM, n_latent: int | None, n_cycles: int | None, max_steps: int | None, batch_size: int
) -> tuple[int, int, int]:
    """The depth ``(n, T)`` and step limit to solve at: the saved ones unless given; checked."""
    cfg = model.cfg
    n = cfg.n_latent if n_latent is None else n_latent
    T = cfg.n_cycles if n_cycles is None else n_cycles
    steps = cfg.n_sup if max_steps is None else max_steps
    for name, value in (("n_latent", n), ("n_cycles", T), ("max_steps", steps)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return n, T, steps


@torch.inference_mode()
def _solve_batch(
    model: TRM,
    puzzles: np.ndarray,
    n: int,
    T: int,
    max_steps: int,
    halt: bool,
    keep_steps: bool,
    dtype: torch.dtype | None,
    plan: _Plan | None = None,
) -> _Trace:
    """Run one batch until every row halted (or ``max_steps``); halted rows leave the batch.

    With a ``plan`` (:func:`solve_rows`), rows also leave as their group's ``until`` says, and
    each row's first firing and first valid answer are recorded."""
    device = model.y_init.device
    b = len(puzzles)
    tokens = to_tokens(puzzles, device)
    puzzle_ids = torch.zeros(b, dtype=torch.long, device=device)
    carry = model.initial_carry(b)
    # Outputs of every row as of its last step; halted rows keep theirs (frozen).
    grid = torch.zeros(b, N_CELLS, dtype=torch.uint8, device=device)
    confidence = torch.zeros(b, N_CELLS, dtype=torch.float32, device=device)
    q_halt = torch.zeros(b, dtype=torch.float32, device=device)
    halted_at = np.full(b, max_steps, dtype=np.int64)
    running = np.arange(b)  # rows still running (host copy of `active`)
    active = torch.arange(b, device=device)
    kept: list[tuple[Tensor, Tensor, Tensor]] = []  # per kept step, on the device until the end
    watch = None if plan is None else _Watch(puzzles, device)
    for t in range(1, max_steps + 1):
        perturb = None if plan is None else _noise(plan, active)
        with autocast(device, dtype):
            if perturb is None:
                out = model(carry, tokens[active], puzzle_ids[active], n, T)
            else:
                out = model(carry, tokens[active], puzzle_ids[active], n, T, perturb=perturb)
        digit_logits = out.logits[..., FIRST_DIGIT_TOKEN:].float()  # (a, 81, 9)
        probs, choice = digit_logits.softmax(-1).max(-1)
        answer = (choice + 1).to(torch.uint8)
        grid[active] = answer
        confidence[active] = probs
        q_halt[active] = out.q_halt.float()
        if keep_steps:
            kept.append((grid.clone(), confidence.clone(), q_halt.clone()))
        if watch is not None:
            # The one host synchronisation of the step: which rows fired, which are valid.
            fired, valid = watch.step(t, out.q_halt, answer, active, running)
            leave = _leaving(plan, running, fired, valid) | (t == max_steps)
        elif not halt or t == max_steps:
            carry = out.carry
            continue
        else:
            # The one host synchronisation of the step: which rows just halted.
            leave = (out.q_halt > 0).cpu().numpy()
        if leave.all():
            halted_at[running] = t
            break
        if leave.any():
            halted_at[running[leave]] = t
            running = running[~leave]
            # Indices, not a boolean mask: masking on the device would synchronise again.
            keep = torch.from_numpy(np.flatnonzero(~leave)).to(device)
            active = active[keep]
            carry = Carry(y=out.carry.y[keep], z=out.carry.z[keep])
        else:
            carry = out.carry
    if not keep_steps:
        kept.append((grid, confidence, q_halt))
    return _Trace(
        grids=[g.cpu().numpy() for g, _, _ in kept],
        confidence=[c.cpu().numpy() for _, c, _ in kept],
        q_halt=[q.cpu().numpy() for _, _, q in kept],
        halted_at=halted_at,
        records=None if watch is None else watch.records(),
    )


class _Watch:
    """Per-row records of a planned batch: first firing, first valid answer (and that answer)."""

    def __init__(self, puzzles: np.ndarray, device: torch.device) -> None:
        b = len(puzzles)
        self.givens = torch.from_numpy(puzzles).to(device)
        self.houses = torch.from_numpy(HOUSES).to(device)
        self.digits = torch.arange(1, 10, dtype=torch.uint8, device=device)
        self.seen = torch.zeros(b, dtype=torch.bool, device=device)
        self.valid_grid = torch.zeros(b, N_CELLS, dtype=torch.uint8, device=device)
        self.fired_at = np.zeros(b, dtype=np.int64)
        self.valid_at = np.zeros(b, dtype=np.int64)

    def step(
        self, t: int, q_halt: Tensor, answer: Tensor, active: Tensor, running: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Record step ``t`` of the active rows; their (fired, valid) flags on the host."""
        valid = _obeys_rules(answer, self.givens[active], self.houses, self.digits)
        first = valid & ~self.seen[active]
        self.valid_grid[active] = torch.where(first[:, None], answer, self.valid_grid[active])
        self.seen[active] |= valid
        flags = torch.stack([q_halt > 0, valid]).cpu().numpy()
        fired, valid_now = flags[0], flags[1]
        first_fired = fired & (self.fired_at[running] == 0)
        self.fired_at[running[first_fired]] = t
        new = valid_now & (self.valid_at[running] == 0)
        self.valid_at[running[new]] = t
        return fired, valid_now

    def records(self) -> RowRecords:
        return RowRecords(
            fired_at=self.fired_at, valid_at=self.valid_at, valid_grid=self.valid_grid.cpu().numpy()
        )


def _obeys_rules(answer: Tensor, givens: Tensor, houses: Tensor, digits: Tensor) -> Tensor:
    """(a,) bool: every house holds 1..9 once and every given is kept (the answer is complete)."""
    by_house = answer[:, houses].sort(dim=-1).values  # (a, 27, 9)
    complete = (by_house == digits).all(-1).all(-1)
    return complete & ((givens == 0) | (givens == answer)).all(-1)


def _leaving(plan: _Plan, running: np.ndarray, fired: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Which running rows leave the batch after this step: those that halted, and every row of
    a group whose selection was just decided."""
    own = fired if plan.halt else np.zeros_like(fired)
    if plan.until == OWN_HALT or (plan.until == FIRST_HALT and not plan.halt):
        return own.copy()
    groups = running // plan.k
    decided = groups[fired] if plan.until == FIRST_HALT else groups[valid]
    return own | np.isin(groups, decided)


def _noise(plan: _Plan, active: Tensor) -> Perturb | None:
    """The perturbation of the active rows' ``z``: Gaussian noise of each row's scale."""
    if plan.sigma is None:
        return None
    scale = plan.sigma[active][:, None, None]

    def perturb(z: Tensor) -> Tensor:
        noise = torch.randn(z.shape, generator=plan.generator, device=z.device, dtype=z.dtype)
        return z + scale.to(z.dtype) * noise

    return perturb


def _assemble(puzzles: np.ndarray, traces: list[_Trace]) -> SolveResult:
    """Stack batch traces, padding each batch's steps with its last step up to the common ``S``."""
    if not traces:
        empty = np.zeros((0, 0, N_CELLS), dtype=np.uint8)
        return SolveResult(
            puzzles=puzzles,
            grids=empty,
            confidence=empty.astype(np.float32),
            q_halt_logit=np.zeros((0, 0), dtype=np.float32),
            halted_at=np.zeros(0, dtype=np.int64),
            final=np.zeros((0, N_CELLS), dtype=np.uint8),
        )
    n_steps = max(len(trace.grids) for trace in traces)

    def stacked(parts: list[np.ndarray]) -> np.ndarray:
        # Frozen rows repeat their last step, so padding a short batch with its last step is exact.
        padded = parts + [parts[-1]] * (n_steps - len(parts))
        return np.stack(padded, axis=1)

    grids = np.concatenate([stacked(trace.grids) for trace in traces])
    halted_at = np.concatenate([trace.halted_at for trace in traces])
    return SolveResult(
        puzzles=puzzles,
        grids=grids,
        confidence=np.concatenate([stacked(trace.confidence) for trace in traces]),
        q_halt_logit=np.concatenate([stacked(trace.q_halt) for trace in traces]),
        halted_at=halted_at,
        final=grids[:, -1].copy(),
    )


def _as_puzzles(puzzles: np.ndarray) -> np.ndarray:
    """Check and convert puzzles to a (B, 81) uint8 array of digits 0..9."""
    array = np.asarray(puzzles)
    if array.ndim != 2 or array.shape[1] != N_CELLS:
        raise ValueError(f"puzzles must have shape (B, 81), got {array.shape}")
    if array.size and (array.min() < 0 or array.max() > 9):
        raise ValueError("puzzle cells must be digits 0..9 (0 = empty)")
    return array.astype(np.uint8)
