"""The one precision rule (engine.precision): forced values are honoured everywhere, ``auto``
depends on the purpose and on whether the CPU computes bf16 natively (faked by its flags here, so
both kinds of machine are tested on either)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine import precision as precision_module
from engine.bench.train import precision_choices
from engine.config import ConfigError
from engine.precision import autocast, precision_name, resolve_precision

CPU = torch.device("cpu")
NATIVE = {"avx512f", "avx512_bf16"}
AMX = {"avx512f", "amx_bf16"}
EMULATED = {"avx2", "fma"}


@pytest.fixture(params=[NATIVE, AMX, EMULATED], ids=["avx512-bf16", "amx", "avx2-only"])
def cpu_flags(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    monkeypatch.setattr(precision_module, "_cpu_flags", lambda: request.param)
    return request.param


@pytest.mark.parametrize("purpose", ["train", "infer"])
def test_forced_precisions_hold_on_every_cpu(cpu_flags: set[str], purpose: str) -> None:
    assert resolve_precision("fp32", CPU, purpose) is None
    assert resolve_precision("bf16", CPU, purpose) is torch.bfloat16


def test_auto_infers_in_bf16_only_where_native(cpu_flags: set[str]) -> None:
    native = cpu_flags is not EMULATED
    assert resolve_precision("auto", CPU, "infer") is (torch.bfloat16 if native else None)


def test_auto_trains_as_the_measured_switch_says(
    cpu_flags: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    native = cpu_flags is not EMULATED
    for trains_bf16 in (True, False):
        monkeypatch.setattr(precision_module, "AUTO_TRAINS_BF16_ON_CPU", trains_bf16)
        expected = torch.bfloat16 if native and trains_bf16 else None
        assert resolve_precision("auto", CPU, "train") is expected


def test_auto_on_other_devices_is_fp32() -> None:
    assert resolve_precision("auto", torch.device("mps"), "infer") is None


def test_unknown_precision_names_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"^train\.precision: unknown precision 'fp8'"):
        resolve_precision("fp8", CPU, "train", "train.precision")
    with pytest.raises(ConfigError, match=r"^--precision: unknown precision 'half'"):
        resolve_precision("half", CPU, "infer", "--precision")


def test_names_and_contexts() -> None:
    assert precision_name(None) == "fp32" and precision_name(torch.bfloat16) == "bf16"
    with autocast(CPU, None):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    with autocast(CPU, torch.bfloat16):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16


def test_bench_auto_adds_bf16_rows_only_where_native(cpu_flags: set[str]) -> None:
    native = cpu_flags is not EMULATED
    assert precision_choices("auto", CPU) == (["fp32", "bf16"] if native else ["fp32"])
    assert precision_choices("both", CPU) == ["fp32", "bf16"]
    assert precision_choices("fp32", CPU) == ["fp32"]


def test_cpu_flags_are_parsed(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t\t: spectre\n")
    assert precision_module._cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512_bf16"}
    assert precision_module._cpu_flags(tmp_path / "missing") == set()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_auto_follows_bf16_support() -> None:
    device = torch.device("cuda", 0)
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    assert resolve_precision("auto", device, "train") is expected
    assert resolve_precision("auto", device, "infer") is expected
