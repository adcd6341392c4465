"""engine.compile: when ``train.compile=auto`` compiles, and that the compiled network is the same
function as the eager one, with the same weight names."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import engine.compile as compile_
from engine.compile import PAYS_AFTER_STEPS, cache_dir, choose_compile, compile_network
from engine.config import ConfigError, ModelConfig
from engine.model import TRM

CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)


def test_explicit_choices_are_honoured_everywhere() -> None:
    assert choose_compile("on", CPU, 1).on and choose_compile("on", CUDA, 1).on
    assert not choose_compile("off", CPU, 10**6).on and not choose_compile("off", CUDA, 10**6).on
    with pytest.raises(ConfigError, match=r"train\.compile: unknown value 'maybe'"):
        choose_compile("maybe", CPU, 1)
    with pytest.raises(ConfigError, match=r"--compile: unknown value"):
        choose_compile("yes", CPU, 1, field="--compile")


def test_auto_compiles_long_cpu_runs_with_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compile_, "cpp_compiler", lambda: "g++")
    assert choose_compile("auto", CUDA, 1).on
    assert not choose_compile("auto", torch.device("mps"), 10**6).on
    short = choose_compile("auto", CPU, PAYS_AFTER_STEPS - 1)
    assert not short.on and "too short" in short.why
    assert choose_compile("auto", CPU, PAYS_AFTER_STEPS).on


def test_auto_stays_eager_on_a_cpu_without_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compile_, "cpp_compiler", lambda: None)
    choice = choose_compile("auto", CPU, 10**6)
    assert not choice.on and "no C++ compiler" in choice.why


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    assert cache_dir() == Path.home() / ".cache" / "trm" / "inductor"
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path


def test_compiled_network_computes_the_eager_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if compile_.cpp_compiler() is None:  # what such a machine gets instead: auto stays eager
        assert not choose_compile("auto", CPU, 10**6).on
        return
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    cfg = ModelConfig(d=16, expansion=2.0, n_latent=2, n_cycles=2, puzzle_emb_len=4)
    torch.manual_seed(0)
    eager = TRM(cfg)
    compiled = TRM(cfg)
    compiled.load_state_dict(eager.state_dict())
    compile_network(compiled)
    assert list(compiled.state_dict()) == list(eager.state_dict())
    tokens = torch.randint(1, 11, (3, 81), generator=torch.Generator().manual_seed(1))
    ids = torch.zeros(3, dtype=torch.long)
    outs = []
    for model in (eager, compiled):
        out = model(model.initial_carry(3), tokens, ids, n=2, T=2)
        (out.logits.sum() + out.q_halt.sum()).backward()
        outs.append(out)
    torch.testing.assert_close(outs[1].logits, outs[0].logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(outs[1].carry.z, outs[0].carry.z, atol=1e-4, rtol=1e-4)
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters(), strict=True):
        # Gradients reach ~100 here; fused kernels round differently in the last bits.
        torch.testing.assert_close(q.grad, p.grad, atol=1e-3, rtol=1e-4, msg=name)
    assert any(tmp_path.joinpath("inductor").iterdir())  # kernels went to the cache asked for


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_compiled_network_on_cuda_in_bf16_trains_like_eager() -> None:
    """The GPU path: the compiled network under bf16 autocast, one step with its backward."""
    cfg = ModelConfig(d=64, n_latent=2, n_cycles=2)
    torch.manual_seed(0)
    cuda = torch.device("cuda")
    eager = TRM(cfg).to(cuda)
    compiled = TRM(cfg).to(cuda)
    compiled.load_state_dict(eager.state_dict())
    compile_network(compiled)
    tokens = torch.randint(1, 11, (8, 81), device=cuda)
    ids = torch.zeros(8, dtype=torch.long, device=cuda)
    outs = []
    for model in (eager, compiled):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(model.initial_carry(8), tokens, ids, n=2, T=2)
        (out.logits.float().sum() + out.q_halt.sum()).backward()
        outs.append(out)
    torch.testing.assert_close(outs[1].logits.float(), outs[0].logits.float(), atol=0.1, rtol=0.05)
    for p, q in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert q.grad is not None and torch.isfinite(q.grad).all()
        cosine = torch.nn.functional.cosine_similarity(p.grad.flatten(), q.grad.flatten(), dim=0)
        assert cosine > 0.99
