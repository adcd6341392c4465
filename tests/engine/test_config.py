"""Configuration validation: every value that would break or poison a run is refused up front,
with an error that names the field."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from engine.config import (
    ConfigError,
    CurriculumConfig,
    DataConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
    apply_overrides,
)
from engine.presets import PRESETS, tiny

SECTIONS = {
    "model": ModelConfig,
    "curriculum": CurriculumConfig,
    "optim": OptimConfig,
    "data": DataConfig,
    "train": TrainConfig,
}


def _fields_of_type(kind: type) -> list[str]:
    return [
        f"{section}.{f.name}"
        for section, cls in SECTIONS.items()
        for f in dataclasses.fields(cls)
        if typing.get_type_hints(cls)[f.name] is kind
    ]


FLOAT_FIELDS = _fields_of_type(float)
INT_FIELDS = _fields_of_type(int)


def test_the_float_and_int_fields_are_found() -> None:
    # The parametrized tests below cover every field; this keeps them from covering none.
    assert {"optim.lr", "model.expansion", "curriculum.hsw_lambda"} <= set(FLOAT_FIELDS)
    assert {"train.batch_size", "model.d", "data.n_aug"} <= set(INT_FIELDS)


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999"])
def test_every_float_field_refuses_non_finite_values(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}: must be a finite number"):
        apply_overrides(tiny(), [f"{name}={value}"])


@pytest.mark.parametrize("name", INT_FIELDS)
def test_every_int_field_refuses_what_an_int64_cannot_hold(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}: must fit in 64 bits"):
        apply_overrides(tiny(), [f"{name}=99999999999999999999"])


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_stage_thresholds_must_be_finite(value: str) -> None:
    with pytest.raises(
        ConfigError, match=r"^curriculum\.stages\.until_rho: must be a finite number"
    ):
        apply_overrides(tiny(), [f"curriculum.stages=0.5:1:1,{value}:2:2"])


def test_a_saved_configuration_with_infinity_is_refused() -> None:
    # json.loads reads "Infinity": a hand-edited config.json must not slip past the checks.
    data = json.loads(json.dumps(tiny().to_dict()).replace('"lr": 0.001', '"lr": Infinity'))
    with pytest.raises(ConfigError, match=r"^optim\.lr: must be a finite number, got inf"):
        RunConfig.from_dict(data)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.seed=-1", r"train\.seed: must be in 0\.\.4,294,967,295"),
        ("data.seed=4294967296", r"data\.seed: must be in 0\.\.4,294,967,295"),
        ("model.n_sup=2147483648", r"model\.n_sup: must be in 1\.\.2,147,483,647"),
        ("model.rms_eps=0", r"model\.rms_eps: must be positive"),
        ("model.rope_theta=-1", r"model\.rope_theta: must be positive"),
        ("optim.lr=0", r"optim\.lr: must be positive"),
    ],
)
def test_ranges_are_checked(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_overrides(tiny(), [override])


def test_finite_extremes_and_every_preset_pass() -> None:
    cfg = apply_overrides(tiny(), ["optim.lr=1e38", "train.batch_size=9223372036854775807"])
    assert cfg.optim.lr == 1e38 and cfg.train.batch_size == 2**63 - 1
    for make in PRESETS.values():
        assert RunConfig.from_dict(make().to_dict()) == make()
