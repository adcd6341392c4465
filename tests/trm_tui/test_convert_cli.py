"""`trm convert` through Typer's CliRunner: a reference state dict becomes one of our checkpoints
that loads to the same predictions; existing files are never overwritten; bad input is one line
and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
import typer
from typer.testing import CliRunner

from engine.evaluate import load_trained_model
from engine.reference_checkpoint import load_reference
from tests.engine.test_reference_checkpoint import reference_state
from trm_tui.convert_cli import convert_command

runner = CliRunner()
CPU = torch.device("cpu")

# A local app, so these tests do not depend on where the root `trm` app registers the command.
app = typer.Typer()
app.command("convert")(convert_command)
app.command("noop", hidden=True)(lambda: None)  # two commands: `convert` stays a sub-command


def _reference_file(tmp_path: Path, mixer: str = "attention") -> Path:
    path = tmp_path / "step_1000"
    sd = reference_state(32, 2, mixer, prefix_len=16, n_ids=1)
    torch.save({f"_orig_mod.model.{k}": v for k, v in sd.items()}, path)
    return path


def _outputs(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    tokens = torch.randint(1, 11, (2, 81), generator=torch.Generator().manual_seed(0))
    ids = torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        out = model(model.initial_carry(2), tokens, ids, model.cfg.n_latent, model.cfg.n_cycles)
    return out.logits, out.q_halt


def test_convert_round_trip(tmp_path: Path) -> None:
    source, out = _reference_file(tmp_path), tmp_path / "converted.pt"
    args = ["convert", str(source), str(out), "--n-latent", "2", "--n-cycles", "1"]
    result = runner.invoke(app, [*args, "--n-heads", "4"])
    assert result.exit_code == 0, result.output
    assert "d=32, 2 layers, attention mixer" in result.output and "4 heads" in result.output
    converted = load_trained_model(out, CPU)
    cfg = converted.config.model
    assert converted.step == 0 and converted.config.preset == "reference"
    assert (cfg.n_latent, cfg.n_cycles, cfg.n_heads, cfg.puzzle_emb_len) == (2, 1, 4, 16)
    direct = load_reference(source, n_latent=2, n_cycles=1, n_heads=4).build()
    for ours, theirs in zip(_outputs(converted.model), _outputs(direct), strict=True):
        assert torch.equal(ours, theirs)


def test_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    source, out = _reference_file(tmp_path, "mlp"), tmp_path / "keep.pt"
    out.write_bytes(b"precious")
    result = runner.invoke(app, ["convert", str(source), str(out)])
    assert result.exit_code == 2
    assert "keep.pt: already exists" in result.output and len(result.output.splitlines()) == 1
    assert out.read_bytes() == b"precious"


def test_convert_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    source = _reference_file(tmp_path, "mlp")
    out = tmp_path / "out.pt"
    cases = [
        (["convert", str(tmp_path / "absent"), str(out)], "absent: no such file"),
        (["convert", str(source), str(out), "--puzzle-emb-len", "8"], "puzzle_emb_len 16"),
        (["convert", str(source), str(out), "--n-latent", "0"], "model.n_latent"),
    ]
    tensor_file = tmp_path / "tensor.pt"
    torch.save(torch.zeros(4), tensor_file)
    cases.append((["convert", str(tensor_file), str(out)], "tensor.pt: holds a Tensor"))
    for args, expected in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output and len(result.output.splitlines()) == 1, result.output
        assert not out.exists()


def test_importing_the_command_does_not_import_torch() -> None:
    code = "import sys, trm_tui.convert_cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_training_run_converts_to_a_compact_checkpoint_with_the_same_outputs(
    tmp_path: Path,
) -> None:
    from engine.config import apply_overrides
    from engine.events import MemorySink
    from engine.presets import preset
    from engine.run_dir import create_run_dir
    from engine.trainer import train
    from tests.engine.test_data import write_puzzles

    data = write_puzzles(tmp_path / "p.csv", 24)
    cfg = apply_overrides(preset("tiny"), [f"data.path={data}", "train.max_steps=2"])
    run = tmp_path / "run"
    create_run_dir(run, cfg)
    assert train(cfg, run, MemorySink()).reason == "finished"
    out = tmp_path / "compact.pt"
    result = runner.invoke(app, ["convert", str(run), str(out)])
    assert result.exit_code == 0, result.output
    assert "step 2" in result.output
    latest = run / "checkpoints" / "latest.pt"
    assert out.stat().st_size < latest.stat().st_size / 2  # no optimizer or resume state
    original, compact = load_trained_model(run, CPU), load_trained_model(out, CPU)
    assert compact.step == 2 and compact.config == original.config
    for ours, theirs in zip(_outputs(compact.model), _outputs(original.model), strict=True):
        assert torch.equal(ours, theirs)
