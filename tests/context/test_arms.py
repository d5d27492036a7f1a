"""Arms: one model (the strategies' own config classes, a union on `name`) for YAML mappings, the arm grammar of
`--arms`, the replay and the simulator, and the `options:` form of earlier run directories."""

from __future__ import annotations

import pytest

from comem.context import parse_arm, parse_arm_spec, validate_arm, with_options
from comem.context.base import config_classes, strategy_names
from comem.context.full import FullConfig
from comem.context.kso import KsoConfig
from comem.context.mask import MaskConfig
from comem.core.errors import ComemError


def test_the_arm_type_is_every_registered_config_class() -> None:
    assert [c.model_fields["name"].default for c in config_classes()] == strategy_names()
    assert isinstance(validate_arm({"name": "mask", "keep_last": 2}), MaskConfig)
    assert isinstance(validate_arm("full"), FullConfig)


@pytest.mark.parametrize(("text", "fields"), [
    ("kso", {"k": 4, "late_policy": "wait", "label": None}),
    ("kso-k2", {"k": 2, "late_policy": "wait", "label": "kso-k2"}),
    ("kso-k2-deadline", {"k": 2, "late_policy": "deadline", "label": "kso-k2-deadline"}),
    ("sync-k3", {"k": 3, "label": "sync-k3"}),
    ("kso-calls", {"k": 4, "keep_calls": True, "label": "kso-calls"}),
    ("kso-k2-deadline-calls", {"k": 2, "late_policy": "deadline", "keep_calls": True,
                               "label": "kso-k2-deadline-calls"}),
])
def test_strings_mappings_and_options_parse_into_the_same_model(text: str, fields: dict) -> None:
    arm = parse_arm(text)
    assert {k: getattr(arm, k) for k in fields} == fields
    mapping = validate_arm({"name": arm.name, **{k: v for k, v in fields.items() if v is not None}})
    assert mapping == arm


def test_options_apply_where_the_strategy_has_the_field_and_a_suffix_wins() -> None:
    options = {"k": 5, "keep_last": 1, "memory_max_tokens": 32, "late_policy": None}
    assert parse_arm("kso-k2", options).k == 2 and parse_arm("kso", options).k == 5
    assert parse_arm("kso", options).memory_max_tokens == 32 and parse_arm("mask", options).keep_last == 1
    assert parse_arm("full", options) == FullConfig()
    assert with_options(KsoConfig(k=2, label="mine"), {"k": 3, "keep_last": 9}) == KsoConfig(k=3, label="mine")


def test_nocache_is_a_benchmark_control() -> None:
    spec = parse_arm_spec("full-nocache")
    assert not spec.reuse_cache and spec.config.key == "full-nocache"
    with pytest.raises(ComemError, match="benchmark control"):
        parse_arm("full-nocache")


def test_the_options_form_of_earlier_run_directories_still_reads() -> None:
    arm = validate_arm({"name": "kso", "label": "kso-k4", "options": {"k": 4, "memory_max_tokens": 128}})
    assert arm == KsoConfig(label="kso-k4", k=4, memory_max_tokens=128)


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "kso", "kk": 2}, "kso.kk: unknown key (did you mean 'k'?)"),
    ({"name": "mask", "keep_lst": 2}, "mask.keep_lst: unknown key (did you mean 'keep_last'?)"),
    ({"name": "maks"}, "unknown strategy 'maks' (did you mean 'mask'?"),
    ({"name": "kso", "k": 0}, "kso.k must be >= 1, got 0"),
    ("kso-k0", "k must be >= 1, got 0"),
    ("mask-calls", "mask has no memory whose calls it could keep"),
    ("summarise-all", "Unknown context strategy 'summarise-all'"),
])
def test_bad_arms_name_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(ComemError) as err:
        validate_arm(data)
    assert message in str(err.value)
