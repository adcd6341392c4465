"""The training loop: scheduling, events, evaluation, checkpoints and exact resume.

Follows the reference TRM trainer (Jolicoeur-Martineau, 2025) with CGAR (Qasim and Zhang, 2025):
every optimizer step advances each row of a persistent batch by one supervision step
(``engine.train_step``); the depth ``(n, T)`` comes from the Progressive Depth Curriculum at each
step, HSW weights each row by its own step, AdamATan2 trains the network and sign-SGD the puzzle
embedding (same warm-up), and an EMA of the weights is what gets evaluated and saved for use.

The loop talks to the world only through an event sink (``train``, ``stage``, ``eval``,
``checkpoint``, ``run_start``, ``run_end`` events, DESIGN.md). Its state lives in an
``engine.session.Session``, whose checkpoints resume exactly. Data-parallel runs
(``engine.distributed``) log metrics summed over ranks; rank 0 evaluates and writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import distributed as dist
from engine.checkpoint import remove_stale_temporaries
from engine.compile import cache_dir as compile_cache_dir
from engine.config import RunConfig
from engine.curriculum import Depth, clue_targets, hsw_weights, step_cost
from engine.data import Batch, to_tokens
from engine.evaluate import EvalResult, evaluate
from engine.memory import describe_failure, is_out_of_memory
from engine.optim import lr_at, set_lr
from engine.run_dir import RunPaths, check_new_run_dir, claim_new_run_dir, lock_run_dir
from engine.session import NonFiniteWeights, Session, announce, build_session, save
from engine.train_step import stagger, train_step

# ``stop()`` is polled after every step: a false value goes on; a true one ends the run as
# "interrupted" with a checkpoint, and a string says why ("terminated by SIGTERM").
Stop = Callable[[], bool | str]


@dataclass
class TrainSummary:
    """How a run ended."""

    reason: str  # "finished", "interrupted" or "failed" (as in the run_end event)
    message: str
    step: int  # optimizer steps completed
    total_steps: int
    last_eval: EvalResult | None  # the latest evaluation, if any ran


class _Silent:
    """The sink of non-zero ranks: events are rank 0's job."""

    def emit(self, kind: str, step: int, **fields: Any) -> dict[str, Any]:
        return {}


def train(
    cfg: RunConfig,
    run_dir: Path,
    sink: Any,
    resume: bool = False,
    stop: Stop | None = None,
) -> TrainSummary:
    """Train, or resume from ``checkpoints/latest.pt``, the run in ``run_dir`` (already created,
    e.g. by ``create_run_dir``); events go to ``sink``.

    The run directory is locked (rank 0) for the call: another process on it is refused with a
    ``RunDirError``. Bad input raises before any event is written. See :func:`run_session` for
    how a run ends.
    """
    world = dist.world_from_env()
    paths = RunPaths(Path(run_dir))
    with ExitStack() as held:
        held.callback(dist.shutdown, world)
        if world.is_main:
            _hold(held, paths)
        run = build_session(cfg, paths, world, resume)
        return run_session(run, sink, stop)


def _hold(held: ExitStack, paths: RunPaths) -> None:
    """Lock an existing run directory for ``held``'s lifetime, then remove what interrupted
    checkpoint saves left: with the lock held no other process can be saving there."""
    held.enter_context(lock_run_dir(paths))
    remove_stale_temporaries(paths.checkpoints)


@contextmanager
def claimed_session(
    cfg: RunConfig, run_dir: Path, resume: bool, world: dist.World
) -> Iterator[Session]:
    """A built session whose run directory this process holds (rank 0) until the block ends.

    A resumed run is locked before its checkpoint is read. A fresh one is created (and locked)
    only once everything it needs is checked and built, so a start that fails (bad data, a
    device that is not there, a model too large) leaves no directory behind.
    """
    paths = RunPaths(Path(run_dir))
    with ExitStack() as held:
        held.callback(dist.shutdown, world)
        if world.is_main and resume:
            _hold(held, paths)
        elif world.is_main:
            check_new_run_dir(paths.root)  # a quick refusal before the slow part
        run = build_session(cfg, paths, world, resume)
        if world.is_main and not resume:
            held.enter_context(claim_new_run_dir(paths.root, cfg))
        yield run


def run_session(run: Session, sink: Any, stop: Stop | None = None) -> TrainSummary:
    """Train a built session to its end, from ``run_start`` to ``run_end`` (rank 0 writes).

    A stop request, or KeyboardInterrupt between steps, ends the run as "interrupted" with a
    checkpoint. A non-finite loss, weights that became non-finite (never saved) or running out
    of memory end it as "failed", keeping the last good checkpoint. The ``run_end`` message
    says which checkpoint remains. Other errors are reported in ``run_end`` and raised.
    """
    run.events = sink if run.world.is_main else _Silent()
    announce(run)
    try:
        return _loop(run, stop)
    except KeyboardInterrupt:
        why = stop() if stop is not None else False  # a stop asked for first says why
        return _interrupted(run, why if isinstance(why, str) and why else "interrupted")
    except NonFiniteWeights as e:
        return _failed(run, f"{e}; {_kept(run)}")
    except BaseException as e:
        if is_out_of_memory(e):
            return _failed(
                run, f"out of memory at step {run.step} ({describe_failure(e)}); {_kept(run)}"
            )
        run.events.emit("run_end", run.step, reason="failed", message=f"{type(e).__name__}: {e}")
        raise


def _kept(run: Session) -> str:
    """Which checkpoint a run that ends now leaves to resume from."""
    if run.saved_step is None:
        return "no checkpoint was saved (none exists yet)"
    return f"the last good checkpoint (step {run.saved_step}) is kept"


def _interrupted(run: Session, cause: str) -> TrainSummary:
    """End after a KeyboardInterrupt: checkpoint when it came between steps, else keep the last."""
    # Mid-step, the weights may be half updated: only a finished step is worth saving.
    saving = not run.in_step and run.step > 0 and run.saved_step != run.step
    if saving:
        try:
            save(run, is_best=False)
        except NonFiniteWeights as e:
            return _failed(run, f"{e}; {_kept(run)}")
    message = f"{cause} at step {run.step}; {'checkpoint saved' if saving else _kept(run)}"
    run.events.emit("run_end", run.step, reason="interrupted", message=message)
    return TrainSummary("interrupted", message, run.step, run.total_steps, run.last_eval)


def _failed(run: Session, message: str) -> TrainSummary:
    run.events.emit("run_end", run.step, reason="failed", message=message)
    return TrainSummary("failed", message, run.step, run.total_steps, run.last_eval)


def _loop(run: Session, stop: Stop | None) -> TrainSummary:
    """Optimizer steps until the end, a stop request, or a non-finite loss."""
    cfg = run.cfg
    hsw = None
    if cfg.curriculum.hsw:
        hsw = torch.tensor(
            hsw_weights(cfg.model.n_sup, cfg.curriculum.hsw_lambda), device=run.device
        )
    if run.step == 0 and cfg.train.stagger_start and bool(run.state.halted.all()):
        first = _easier(run, run.sampler.draw(run.state.halted.numel()))
        run.state = stagger(
            run.net,
            run.state,
            to_tokens(first.questions, run.device),
            to_tokens(first.answers, run.device),
            cfg.model.n_sup,
        )
    compiled_yet = False
    while run.step < run.total_steps:
        depth = run.schedule.at(run.step, run.total_steps)
        if depth.stage != run.stage:
            run.stage = depth.stage
            run.events.emit(
                "stage",
                run.step,
                stage=depth.stage,
                depth={"n": depth.n, "T": depth.T},
                rho=run.step / run.total_steps,
            )
        lr = lr_at(run.step + 1, cfg.optim, run.total_steps)
        set_lr(run.optimizers, lr, cfg.optim)
        started = time.perf_counter()
        fresh = _easier(run, run.sampler.draw(int(run.state.halted.sum())))
        tokens = to_tokens(fresh.questions, run.device)
        labels = to_tokens(fresh.answers, run.device)
        run.in_step = True
        result = train_step(
            run.net,
            run.forward,
            run.state,
            tokens,
            labels,
            depth,
            list(run.optimizers.values()),
            hsw,
            run.settings,
        )
        run.ema.update(run.net)
        run.state, run.step, run.in_step = result.state, run.step + 1, False
        run.metrics += result.metrics
        run.losses += result.losses
        run.n_summed += 1
        finite = bool(torch.isfinite(result.losses[0]))
        why = stop() if stop is not None else False
        # Every rank must take the same branch below, or the next collective would hang.
        nonfinite, stopping = dist.any_rank([not finite, bool(why)], run.world)
        elapsed = time.perf_counter() - started
        run.seconds += elapsed
        if run.compiled.on and not compiled_yet:
            # The first step of a process compiles the network: show what it cost.
            run.events.emit("compile", run.step, seconds=elapsed, cache=str(compile_cache_dir()))
            compiled_yet = True
        if nonfinite:
            return _failed(run, f"non-finite loss at step {run.step}; {_kept(run)}")
        if run.step % cfg.train.log_every == 0 or run.step == run.total_steps:
            _log(run, lr, depth)
        if run.step % run.eval_every == 0 or run.step == run.total_steps:
            _evaluate(run)
        elif run.step % run.checkpoint_every == 0 or stopping:
            save(run, is_best=False)
        if stopping and run.step < run.total_steps:
            cause = why if isinstance(why, str) and why else "stopped"
            message = f"{cause} at step {run.step} of {run.total_steps}; checkpoint saved"
            run.events.emit("run_end", run.step, reason="interrupted", message=message)
            return TrainSummary("interrupted", message, run.step, run.total_steps, run.last_eval)
    final = run.last_eval
    message = f"{run.step} steps" + (
        f"; test exact accuracy {final.exact_accuracy:.4f}" if final else ""
    )
    run.events.emit("run_end", run.step, reason="finished", message=message)
    return TrainSummary("finished", message, run.step, run.total_steps, final)


def _easier(run: Session, batch: Batch) -> Batch:
    """``batch`` with the clue curriculum's extra givens revealed (unchanged when it is off).

    The cells are drawn from a generator seeded by (data seed, rank, step), so a resumed run
    reveals the same cells as an uninterrupted one."""
    if not run.cfg.curriculum.clues or len(batch.questions) == 0:
        return batch  # the default path does no work
    givens = (batch.questions > 0).sum(axis=1)
    targets = clue_targets(run.cfg.curriculum, run.step, run.total_steps, givens)
    if targets is None:
        return batch
    from puzzles.generate import reveal

    rng = np.random.default_rng([run.cfg.data.seed, 3000 + run.world.rank, run.step])
    return Batch(reveal(batch.questions, batch.answers, targets, rng), batch.answers)


def _log(run: Session, lr: float, depth: Depth) -> None:
    """One ``train`` event from the sums since the last one, over all ranks."""
    cfg, world = run.cfg, run.world
    metrics = dist.all_reduce_sum(run.metrics, world).tolist()
    losses = (dist.all_reduce_sum(run.losses, world) / (world.size * max(1, run.n_summed))).tolist()
    n_sup = cfg.model.n_sup
    histogram = torch.bincount(run.state.steps.long(), minlength=n_sup + 1)[1 : n_sup + 1]
    seconds = dist.all_reduce_max(run.seconds, world)
    count = metrics[0]

    def per_halted(total: float) -> float | None:
        return total / count if count > 0 else None

    run.events.emit(
        "train",
        run.step,
        loss=losses[0],
        lm_loss=losses[1],
        halt_loss=losses[2],
        lr=lr,
        cell_accuracy=per_halted(metrics[1]),
        exact_accuracy=per_halted(metrics[2]),
        halt_accuracy=per_halted(metrics[3]),
        avg_steps=per_halted(metrics[4]),
        n_halted=int(count),
        depth={"n": depth.n, "T": depth.T},
        stage=depth.stage,
        hsw_weights=hsw_weights(n_sup, cfg.curriculum.hsw_lambda) if cfg.curriculum.hsw else None,
        samples_per_s=cfg.train.batch_size * run.n_summed / max(seconds, 1e-9),
        # Later depth stages cost more per step: scale this stage's pace by the work left.
        eta_s=seconds
        / max(1, run.n_summed)
        / step_cost(depth.n, depth.T)
        * run.schedule.remaining_cost(run.step, run.total_steps),
        steps_histogram=dist.all_reduce_sum(histogram, world).tolist(),
        epoch=run.sampler.n_drawn * world.size / len(run.splits.train_questions),
    )
    run.metrics.zero_()
    run.losses.zero_()
    run.n_summed, run.seconds = 0, 0.0


def _evaluate(run: Session) -> None:
    """Evaluate the EMA weights on the test split (rank 0), then checkpoint."""
    result = None
    if run.world.is_main and len(run.splits.test_questions) > 0:
        run.ema.copy_to(run.eval_net)
        result = evaluate(
            run.eval_net,
            run.splits.test_questions,
            run.splits.test_answers,
            run.cfg.train.eval_batch_size or run.cfg.train.batch_size,
            run.cfg.train.precision,  # "auto" resolves as `trm eval` does: the same figures
        )
        run.last_eval = result
        run.events.emit(
            "eval",
            run.step,
            split="test",
            exact_accuracy=result.exact_accuracy,
            cell_accuracy=result.cell_accuracy,
            halt_accuracy=result.halt_accuracy,
            avg_halt_step=result.avg_halt_step,
            n_puzzles=result.n_puzzles,
            halt_exact_accuracy=result.halt_exact_accuracy,
        )
    # Best by exact accuracy; cell accuracy breaks ties (early on every exact accuracy is 0).
    score = [result.exact_accuracy, result.cell_accuracy] if result else None
    is_best = score is not None and score > run.best_score
    if is_best:
        run.best_score = score
    save(run, is_best=is_best)


def main(argv: list[str] | None = None) -> int:
    """``python -m engine.trainer`` (e.g. under ``torchrun``): train without the live display."""
    import argparse

    from engine.config import apply_overrides
    from engine.events import EventSink
    from engine.presets import preset, with_cgar
    from engine.run_dir import open_for_resume
    from engine.stop import StopOnSignal

    parser = argparse.ArgumentParser(prog="python -m engine.trainer", description=main.__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--cgar", action="store_true")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    world = dist.world_from_env()
    if args.resume:
        cfg = open_for_resume(args.run_dir)[1]
    else:
        cfg = apply_overrides(preset(args.preset), args.sets)
        cfg = with_cgar(cfg) if args.cgar else cfg
    stop = StopOnSignal()
    with claimed_session(cfg, args.run_dir, args.resume, world) as run:
        sink = EventSink(run.paths.events) if world.is_main else None
        try:
            with stop:
                summary = run_session(run, sink, stop=stop.requested)
        finally:
            if sink is not None:
                sink.close()
    return stop.exit_code if summary.reason == "interrupted" else int(summary.reason != "finished")


if __name__ == "__main__":
    raise SystemExit(main())
