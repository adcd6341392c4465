"""Device, precision and compile resolution (CPU only; GPU paths are guarded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine import device as device_module
from engine.config import ConfigError
from engine.device import (
    autocast,
    describe,
    resolve_device,
    resolve_precision,
    should_compile,
)

CPU = torch.device("cpu")


def test_cpu_and_auto() -> None:
    assert resolve_device("cpu") == CPU
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else auto.type)
    assert auto.type in ("cuda", "mps", "cpu")


def test_auto_is_cpu_without_accelerators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    assert resolve_device("auto") == CPU


@pytest.mark.parametrize(
    ("name", "message"),
    [("tpu9", "unknown device 'tpu9'"), ("", "unknown device ''"), ("meta", "not supported")],
)
def test_bad_device_names(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"train\.device: .*{message}"):
        resolve_device(name)


def test_cuda_without_cuda_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"train\.device: 'cuda:1' requested but CUDA"):
        resolve_device("cuda:1")


def test_precision_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_precision("fp32", CPU) is None
    assert resolve_precision("bf16", CPU) is torch.bfloat16
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: {"avx2", "fma"})
    assert resolve_precision("auto", CPU) is None
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: {"avx512f", "amx_bf16"})
    assert resolve_precision("auto", CPU) is torch.bfloat16
    with pytest.raises(ConfigError, match=r"train\.precision"):
        resolve_precision("fp8", CPU)


def test_cpu_flags_are_parsed(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t\t: spectre\n")
    assert device_module._cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512_bf16"}
    assert device_module._cpu_flags(tmp_path / "missing") == set()


def test_autocast_contexts() -> None:
    with autocast(CPU, None):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    with autocast(CPU, torch.bfloat16):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16


def test_should_compile() -> None:
    assert should_compile("auto", CPU) is False
    assert should_compile("auto", torch.device("cuda", 0)) is True
    assert should_compile("on", CPU) is True
    assert should_compile("off", torch.device("cuda", 0)) is False
    with pytest.raises(ConfigError, match=r"train\.compile"):
        should_compile("maybe", CPU)


def test_describe_cpu() -> None:
    threads = torch.get_num_threads()
    assert describe(CPU) == f"cpu ({threads} threads, fp32)"
    assert describe(CPU, torch.bfloat16) == f"cpu ({threads} threads, bf16)"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_resolution() -> None:
    device = resolve_device("cuda")
    assert device == torch.device("cuda", 0)
    assert "cuda:0" in describe(device)
    assert resolve_precision("auto", device) in (torch.bfloat16, None)
