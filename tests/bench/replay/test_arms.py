from __future__ import annotations

import pytest

from comem.bench.replay.arms import DEFAULT_ARMS, parse_arm
from comem.core.errors import ComemError


def test_every_default_arm_parses() -> None:
    arms = [parse_arm(spec, {"memory_max_tokens": 32, "keep_last": 2}) for spec in DEFAULT_ARMS]
    assert [a.label for a in arms] == DEFAULT_ARMS
    by = {a.label: a for a in arms}
    assert by["full-nocache"].reuse_cache is False and by["full"].reuse_cache is True
    assert by["kso-k4"].strategy.k == 4
    assert by["kso-k4"].strategy.memory_max_tokens == 32
    assert by["mask"].strategy.keep_last == 2
    assert by["sync-k2"].strategy.needs_memory() and not by["mask"].strategy.needs_memory()


def test_a_late_policy_suffix_sets_kso_policy() -> None:
    arm = parse_arm("kso-k2-deadline")
    assert (arm.label, arm.strategy.k, arm.strategy.late_policy) == (
        "kso-k2-deadline", 2, "deadline")
    assert parse_arm("kso-k4").strategy.late_policy == "wait"


@pytest.mark.parametrize(("spec", "fix"), [("bogus", "use one of"), ("mask-k2", "drop the -k"),
                                           ("sync-k2-deadline", "drop the -deadline"),
                                           ("kso-kx", "write arms like"), ("kso-k0", "check the kso options")])
def test_bad_arms_name_the_fix(spec: str, fix: str) -> None:
    with pytest.raises(ComemError) as err:
        parse_arm(spec)
    assert fix in str(err.value.fix)
