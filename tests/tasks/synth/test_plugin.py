"""What the plugin records about failing tests, through a real pytest run of a small buggy package."""

from __future__ import annotations

from pathlib import Path

import pytest

from comem.tasks.synth.runner import Failure, SuiteRun, run_tests
from tests.tasks.synth.helpers import make_package

BUGGY = '''\
def add(a, b):
    return a + b + 1


def div(a, b):
    return a / b


def parse(text):
    return text


def is_even(n):
    return n % 2 == 1


def total(values):
    return sum(values) * 2


class Box:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return self.value == other.contents
'''

TESTS = '''\
import unittest

import pytest

import lib as library
from lib import Box, add, div, is_even, parse, total


def test_equal():
    assert add(2, 3) == 5


def test_expected_first_and_alias():
    assert 5 == library.add(2, 3)


def test_locals():
    data = [1, 2]
    assert total(data) == 3


def test_assigned_result():
    result = total([1, 2])
    assert result == 3


def test_raises_instead_of_returning():
    assert div(1, 0) == 0


def test_comparison_raises():
    box = Box(1)
    assert box == Box(1)


def test_name_gone_by_report_time():
    try:
        div(1, 0)
    except ZeroDivisionError as error:
        assert "by two" in str(error)


def test_package_call_on_the_right():
    text = "ab"
    assert text.upper() == library.add(1, 1)


def test_raise_on_the_right():
    assert str(1).strip() == div(1, 0)


def test_does_not_raise():
    with pytest.raises(ValueError):
        parse("x")


def test_truthy():
    assert is_even(4)


def test_falsy():
    assert not is_even(3)


def test_passes():
    assert div(4, 2) == 2


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


class TestUnit(unittest.TestCase):
    def test_assert_equal(self):
        self.assertEqual(add(1, 1), 2)

    def test_assert_raises_context(self):
        with self.assertRaises(KeyError):
            parse("y")
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    repo = make_package(tmp_path_factory.mktemp("plugin") / "pkg", {
        "pyproject.toml": "[tool.pytest.ini_options]\n", "lib.py": BUGGY, "tests/test_lib.py": TESTS})
    return run_tests(repo, "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest", None, timeout_s=120)


def failure(run: SuiteRun, name: str) -> Failure:
    outcome = run.tests[f"tests/test_lib.py::{name}"]
    assert outcome.outcome == "failed" and outcome.failure is not None
    return outcome.failure


def test_outcomes(run: SuiteRun) -> None:
    assert run.with_outcome("passed") == ["tests/test_lib.py::test_passes"]
    assert run.with_outcome("skipped") == ["tests/test_lib.py::test_skipped"]
    assert len(run.with_outcome("failed")) == 14 and not run.timed_out and not run.collect_errors


def test_equality_gives_call_actual_and_expected(run: SuiteRun) -> None:
    f = failure(run, "test_equal")
    assert (f.kind, f.expression, f.actual, f.expected) == ("equal", "add(2, 3)", "6", "5")
    assert f.exc_type == "AssertionError" and f.statement == "assert add(2, 3) == 5"


def test_expected_first_and_module_alias(run: SuiteRun) -> None:
    f = failure(run, "test_expected_first_and_alias")
    assert (f.expression, f.actual, f.expected) == ("lib.add(2, 3)", "6", "5")


def test_local_values_are_reported(run: SuiteRun) -> None:
    f = failure(run, "test_locals")
    assert (f.expression, f.actual, f.expected, f.locals) == ("total(data)", "6", "3", {"data": "[1, 2]"})


def test_a_result_variable_stands_for_the_call_that_made_it(run: SuiteRun) -> None:
    f = failure(run, "test_assigned_result")
    assert (f.expression, f.actual, f.expected, f.locals) == ("total([1, 2])", "6", "3", {})


def test_unexpected_exception(run: SuiteRun) -> None:
    f = failure(run, "test_raises_instead_of_returning")
    assert (f.kind, f.expression, f.expected) == ("raises", "div(1, 0)", "0")
    assert f.raised == "ZeroDivisionError: division by zero"


def test_the_side_that_calls_the_package_is_the_actual(run: SuiteRun) -> None:
    f = failure(run, "test_package_call_on_the_right")
    assert (f.expression, f.actual, f.expected) == ("lib.add(1, 1)", "3", "'AB'")
    g = failure(run, "test_raise_on_the_right")
    assert (g.kind, g.expression, g.expected) == ("raises", "div(1, 0)", "'1'")


def test_a_comparison_that_raises_is_reported_whole(run: SuiteRun) -> None:
    f = failure(run, "test_comparison_raises")
    assert (f.kind, f.expression, f.expected) == ("raises", "box == Box(1)", None)
    assert f.raised == "AttributeError: 'Box' object has no attribute 'contents'"


def test_values_that_cannot_be_recomputed_fall_back_to_the_statement(run: SuiteRun) -> None:
    f = failure(run, "test_name_gone_by_report_time")
    assert (f.kind, f.exc_type, f.statement) == ("other", "AssertionError", "assert 'by two' in str(error)")


def test_missing_exception(run: SuiteRun) -> None:
    f = failure(run, "test_does_not_raise")
    assert (f.kind, f.expression, f.expected) == ("no_raise", "parse('x')", "ValueError")
    g = failure(run, "TestUnit::test_assert_raises_context")
    assert (g.kind, g.expression, g.expected) == ("no_raise", "parse('y')", "KeyError")


def test_truth_checks(run: SuiteRun) -> None:
    assert failure(run, "test_truthy").model_dump(include={"kind", "expression", "actual"}) == {
        "kind": "truthy", "expression": "is_even(4)", "actual": "False"}
    assert failure(run, "test_falsy").model_dump(include={"kind", "expression", "actual"}) == {
        "kind": "falsy", "expression": "is_even(3)", "actual": "True"}


def test_unittest_values_come_from_the_assertion_frame(run: SuiteRun) -> None:
    f = failure(run, "TestUnit::test_assert_equal")
    assert (f.kind, f.expression, f.actual, f.expected) == ("equal", "add(1, 1)", "3", "2")


def test_only_the_selected_tests_run(tmp_path: Path) -> None:
    repo = make_package(tmp_path / "pkg", {"pyproject.toml": "[tool.pytest.ini_options]\n",
                                           "tests/test_ok.py": "def test_a():\n    pass\n\n\ndef test_b():\n"
                                                               "    assert False\n"})
    result = run_tests(repo, "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest", ["tests/test_ok.py::test_a"], 60)
    assert list(result.tests) == ["tests/test_ok.py::test_a"]
    assert result.tests["tests/test_ok.py::test_a"].outcome == "passed"
