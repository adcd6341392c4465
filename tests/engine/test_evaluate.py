"""Evaluation semantics (final-step answers, halting head, first halting step) and model loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.checkpoint import CheckpointError, save_checkpoint
from engine.evaluate import evaluate, load_trained_model
from engine.model import TRM, Carry, StepOutput
from engine.optim import EMA
from engine.presets import tiny
from tests.engine.fake_trm import FakeTRM
from tests.engine.test_data import make_puzzles

# Per row and step 1..4: is the answer right (None = all but `wrong` cells), and q_halt.
RIGHT = [[False, True, True, True], [True, False, False, False], [False, False, False, False]]
WRONG_CELLS = [5, 1, 2]  # leading cells wrong when the answer is not right
Q_HALT = [[-1.0, -1.0, 2.0, 2.0], [3.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, 1.0]]


class ScriptedModel(FakeTRM):
    """Answers and halting logits follow RIGHT and Q_HALT, step by step."""

    def __init__(self) -> None:
        super().__init__(n_sup=4)
        self.depths: list[tuple[int, int]] = []

    def forward(
        self, carry: Carry, tokens: torch.Tensor, puzzle_ids: torch.Tensor, n: int, T: int
    ) -> StepOutput:
        self.depths.append((n, T))
        t = int(carry.y[0, 0, 0].item())  # steps done
        labels = self.labels[: tokens.shape[0]]
        predicted = labels.clone()
        for row in range(tokens.shape[0]):
            if not RIGHT[row][t]:
                predicted[row, : WRONG_CELLS[row]] = 1  # "empty" is never a right answer
        logits = torch.nn.functional.one_hot(predicted, 11).float()
        q_halt = torch.tensor([Q_HALT[row][t] for row in range(tokens.shape[0])])
        return StepOutput(carry=Carry(y=carry.y + 1, z=carry.z), logits=logits, q_halt=q_halt)


def test_final_step_answers_and_first_halting_step() -> None:
    questions, answers = make_puzzles(3, 30, 0)
    model = ScriptedModel()
    model.labels = torch.from_numpy(answers.astype(np.int64) + 1)
    result = evaluate(model, questions, answers, batch_size=3)
    assert result.n_puzzles == 3
    assert result.exact_accuracy == pytest.approx(1 / 3)  # only row 0 is right after step 4
    assert result.cell_accuracy == pytest.approx((1 + 80 / 81 + 79 / 81) / 3)
    # Final step: row 0 solved with q >= 0, row 1 unsolved with q < 0, row 2 unsolved with q >= 0.
    assert result.halt_accuracy == pytest.approx(2 / 3)
    assert result.avg_halt_step == pytest.approx((3 + 1 + 4) / 3)
    # Answers at the first halting step: row 0 right (step 3), row 1 right (step 1), row 2 wrong.
    assert result.halt_exact_accuracy == pytest.approx(2 / 3)
    assert set(model.depths) == {(1, 1)} and len(model.depths) == 4


def test_batches_give_the_same_result() -> None:
    questions, answers = make_puzzles(3, 30, 0)
    torch.manual_seed(0)
    net = TRM(tiny().model)
    whole = evaluate(net, questions, answers, batch_size=3)
    split = evaluate(net, questions, answers, batch_size=2)
    assert whole.cell_accuracy == pytest.approx(split.cell_accuracy)
    assert whole.avg_halt_step == pytest.approx(split.avg_halt_step)
    assert net.training  # the mode is given back


def test_load_prefers_ema_weights_and_best(tmp_path: Path) -> None:
    cfg = tiny()
    net = TRM(cfg.model)
    ema = EMA(net, 0.5)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    state = {"config": cfg.to_dict(), "model": net.state_dict(), "ema": ema.state_dict(), "step": 7}
    save_checkpoint(tmp_path / "checkpoints" / "best.pt", state)
    save_checkpoint(tmp_path / "checkpoints" / "latest.pt", {**state, "step": 9})
    loaded = load_trained_model(tmp_path, torch.device("cpu"))
    assert loaded.step == 7 and loaded.path.name == "best.pt"
    for name, value in loaded.model.state_dict().items():
        assert torch.equal(value, ema.averaged()[name])
    latest = load_trained_model(tmp_path / "checkpoints" / "latest.pt", torch.device("cpu"))
    assert latest.step == 9


def test_load_rejects_what_is_not_a_training_checkpoint(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "x.pt", {"weights": torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r"x\.pt"):
        load_trained_model(tmp_path / "x.pt", torch.device("cpu"))
    with pytest.raises(CheckpointError, match="no checkpoints"):
        load_trained_model(tmp_path, torch.device("cpu"))
