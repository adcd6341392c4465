"""Device and compile resolution (CPU only; GPU paths are guarded). Precision: test_precision."""

from __future__ import annotations

import pytest
import torch

from engine import device as device_module
from engine.config import ConfigError
from engine.device import describe, resolve_device

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


def test_errors_name_the_setting_given() -> None:
    with pytest.raises(ConfigError, match=r"^--device: unknown device 'tpu9'"):
        resolve_device("tpu9", "--device")


def test_cuda_without_cuda_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"train\.device: 'cuda:1' requested but CUDA"):
        resolve_device("cuda:1")


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
