"""Problem statements from failure descriptions: symptom, call, actual vs expected; never a test name."""

from __future__ import annotations

from comem.tasks.synth.runner import Failure
from comem.tasks.synth.statement import problem_statement


def equal(expression: str, actual: str, expected: str, **extra) -> Failure:
    return Failure(kind="equal", exc_type="AssertionError", expression=expression, actual=actual, expected=expected,
                   **extra)


def test_wrong_value_reads_like_an_issue() -> None:
    text = problem_statement("calc 1.0", [("tests/test_a.py::test_add", equal("calc.add(2, 3)", "6", "5"))], set())
    assert text.splitlines()[0] == "`calc.add` returns a wrong result"
    assert "Calling `calc.add(2, 3)` returns `6`, but `5` was expected." in text
    assert ">>> calc.add(2, 3)\n6\n" in text and text.rstrip().endswith("Seen with calc 1.0.")


def test_an_expression_that_is_not_a_call_is_not_called() -> None:
    text = problem_statement("p", [("t::x", equal("n + p.ordinal(n)", "'1th'", "'1st'", locals={"n": "'1'"}))], set())
    assert text.splitlines()[0] == "`p.ordinal` returns a wrong result"
    assert "`n + p.ordinal(n)` (with `n = '1'`) is `'1th'`, but `'1st'` was expected." in text


def test_local_values_and_further_examples() -> None:
    failures = [
        ("t.py::test_b", equal("total(data)", "6", "3", locals={"data": "[1, 2]"})),
        ("t.py::test_a", equal("total(data)", "6", "3", locals={"data": "[1, 2]"})),  # same call: listed once
        ("t.py::test_c", Failure(kind="raises", expression="total(None)", raised="TypeError: bad", expected="0")),
    ]
    text = problem_statement("calc", failures, set())
    assert "Calling `total(data)` (with `data = [1, 2]`) returns `6`, but `3` was expected." in text
    assert ">>> data = [1, 2]\n>>> total(data)\n6" in text
    assert "The same happens with:\n\n- Calling `total(None)` raises `TypeError: bad` instead of returning `0`." in text
    assert text.count("total(data)") == 2  # sentence and reproducer; not repeated as a further example


def test_exceptions_and_truth_checks() -> None:
    raised = problem_statement("p", [("t::x", Failure(kind="raises", expression="p.load('x')",
                                                      raised="KeyError: 'x'"))], set())
    assert raised.startswith("`p.load` raises KeyError\n") and "Traceback (most recent call last):" in raised
    silent = problem_statement("p", [("t::x", Failure(kind="no_raise", expression="p.parse('')",
                                                      expected="ValueError"))], set())
    assert silent.startswith("`p.parse` does not raise ValueError")
    assert "should raise `ValueError`, but it does not raise anything." in silent
    truth = problem_statement("p", [("t::x", Failure(kind="truthy", expression="p.is_leap(2000)", actual="False"))],
                              set())
    assert "I expected `p.is_leap(2000)` to be true, but it is `False`." in truth
    evaluated = problem_statement("p", [("t::x", equal("p.f(1)", "raises ValueError: no", "2"))], set())
    assert "Calling `p.f(1)` raises `ValueError: no` instead of returning `2`." in evaluated


def test_unknown_failures_fall_back_to_the_error() -> None:
    text = problem_statement("p 1", [("t::x", Failure(exc_type="RecursionError", message="too deep",
                                                      statement="check(thing)"))], set())
    assert text.startswith("p 1: unexpected RecursionError")
    assert "Using p 1 fails with `RecursionError: too deep` in:\n\n```python\ncheck(thing)\n```" in text


def test_statement_never_names_a_test() -> None:
    leaky = equal("check_roundtrip_helper(x)", "1", "2")
    text = problem_statement("p", [("t.py::check_roundtrip_helper", leaky)], {"check_roundtrip_helper"})
    assert "check_roundtrip_helper" not in text and text.startswith("p: unexpected AssertionError")


def test_a_leaking_variable_or_example_is_left_out() -> None:
    failures = [
        ("t.py::TestThing::test_a", equal("p.f(kw)", "1", "2", locals={"kw": "<function TestThing.<lambda>>"})),
        ("t.py::TestThing::test_b", equal("p.g(1)", "<TestThing object>", "2")),
    ]
    text = problem_statement("p", failures, {"TestThing", "test_a", "test_b"})
    assert "TestThing" not in text and "Calling `p.f(kw)` returns `1`, but `2` was expected." in text
    assert "p.g(1)" not in text
