"""Mutant trials and the final grading check, on the tiny real package."""

from __future__ import annotations

import random
from pathlib import Path

from comem.tasks.synth.mutate import Edit, Mutation, find_mutations
from comem.tasks.synth.runner import Outcome, SuiteRun
from comem.tasks.synth.validate import Trial, check_task, pass_to_pass, try_mutant
from comem.tasks.synth.write import TaskFiles, write_task
from tests.tasks.synth.helpers import CALC

COMMAND = "PYTHONPATH=src PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -o addopts="
PATH = "src/calc/__init__.py"
CLAMP_TESTS = [f"tests/test_clamp.py::test_{n}" for n in ("inside", "below", "above", "custom_bounds")]


def mutation(before: str, after: str) -> Mutation:
    """The operator-made mutation of CALC that turns `before` into `after`."""
    wanted = CALC.replace(before, after, 1)
    return next(m for m in find_mutations(CALC, PATH) if m.apply(CALC) == wanted)


def test_caught_survived_hanging_and_broken_mutants(calc_package: Path) -> None:
    caught = try_mutant(calc_package, mutation("        return hi\n", "        pass\n"), CALC, CLAMP_TESTS, COMMAND,
                        60)
    assert caught.rejected is None
    assert caught.failing == ["tests/test_clamp.py::test_above", "tests/test_clamp.py::test_custom_bounds"]
    assert caught.run.tests[caught.failing[0]].failure.expression == "clamp(42)"
    # `x >= hi` only differs from `x > hi` at x == hi, which no test tries
    survived = try_mutant(calc_package, mutation("x > hi", "x >= hi"), CALC, CLAMP_TESTS, COMMAND, 60)
    assert survived.rejected == "survived" and survived.failing == []
    assert (calc_package / PATH).read_text() == CALC  # the original is back after each trial

    at = CALC.index("    if x < lo")
    hang = Mutation(PATH, "clamp", "drop_branch", (5, 6), (Edit(at, at, "    while True:\n        pass\n"),))
    timed_out = try_mutant(calc_package, hang, CALC, CLAMP_TESTS, COMMAND, 3)
    assert timed_out.rejected == "timed out" and (calc_package / PATH).read_text() == CALC
    broken = Mutation(PATH, "clamp", "comparison", (5, 5), (Edit(0, 0, "def ("),))
    assert try_mutant(calc_package, broken, CALC, CLAMP_TESTS, COMMAND, 60).rejected == "not valid Python"


def test_pass_to_pass_is_a_bounded_sample_from_the_failing_files() -> None:
    tests = {f"tests/test_a.py::test_{i}": Outcome(outcome="passed") for i in range(30)}
    tests["tests/test_a.py::test_0"] = Outcome(outcome="failed")
    tests["tests/test_a.py::test_1"] = Outcome(outcome="failed")  # broken by the mutant too: not P2P
    trial = Trial(mutation("x > hi", "x >= hi"), "", ["tests/test_a.py::test_0"], SuiteRun(tests=tests), None)
    passed = set(tests) | {"tests/test_b.py::test_elsewhere"}
    sample = pass_to_pass(trial, passed, random.Random(0), limit=5)
    assert len(sample) == 5 and sample == sorted(sample)
    assert all(t.startswith("tests/test_a.py::") and t not in ("tests/test_a.py::test_0", "tests/test_a.py::test_1")
               for t in sample)
    assert sample == pass_to_pass(trial, passed, random.Random(0), limit=5)


def write(calc_package: Path, out: Path, f2p: list[str]) -> Path:
    mutated = CALC.replace("        return hi\n", "        pass\n")
    files = TaskFiles(instance_id="calc-x", problem_statement="`clamp` returns a wrong result\n",
                      fail_to_pass=f2p, pass_to_pass=["tests/test_clamp.py::test_inside"], test_command=COMMAND,
                      mutated_path=PATH, original=CALC, mutated=mutated, hidden_tests=["tests/test_clamp.py"])
    return write_task(out, calc_package, files)


def test_check_task_accepts_a_valid_task_and_names_what_is_wrong_otherwise(calc_package: Path, tmp_path: Path) -> None:
    good = write(calc_package, tmp_path / "good", ["tests/test_clamp.py::test_above"])
    assert check_task(good, timeout_s=120) is None
    bad = write(calc_package, tmp_path / "bad", ["tests/test_clamp.py::test_above", "tests/test_clamp.py::test_below"])
    assert check_task(bad, timeout_s=120) == "a FAIL_TO_PASS test passes on the buggy repo"
