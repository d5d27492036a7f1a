"""Every mutation operator on small snippets: valid Python, a change inside the target function only, and the
rest of the file byte-identical."""

from __future__ import annotations

import ast

import pytest

from comem.tasks.synth.mutate import OPERATORS, Mutation, find_mutations, function_units

SNIPPET = '''\
"""Module docstring: 1 < 2."""
import math

LIMIT = 10  # a module constant: never mutated


def clamp(x, lo=0, hi=LIMIT, strict=False):
    """Clamp x into [lo, hi]; 3 > 2."""
    if x < lo:
        return lo
    elif x > hi:  # too big
        return hi
    return x


class Stats:
    @staticmethod
    def mean(xs):
        total = 0
        for x in xs:
            total += x
        return total / len(xs) if xs else None

    def window(self, xs, n=2):
        return [xs[i:i + n] for i in range(len(xs) - n + 1)]

    def check(self, a, b):
        return not a and b or math.isclose(a, b)


def flags(values):
    return [v is None for v in values] + [True, "x" + str(len(values))]
'''


def unit_range(source: str, function: str) -> tuple[int, int]:
    """First line (decorators included) and last line of the named function."""
    node = dict(function_units(ast.parse(source)))[function]
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, node.end_lineno


def without(source: str, function: str) -> str:
    """The module's AST dump with the named function's body and arguments blanked out."""
    tree = ast.parse(source)
    node = dict(function_units(tree))[function]
    node.body, node.args = [ast.Pass()], ast.arguments([], [], None, [], [], None, [])
    return ast.dump(tree)


def assert_confined(source: str, mutation: Mutation) -> str:
    mutated = mutation.apply(source)
    ast.parse(mutated)  # valid Python
    first, last = unit_range(source, mutation.function)
    old, new = source.splitlines(keepends=True), mutated.splitlines(keepends=True)
    tail = len(old) - last
    assert new[: first - 1] == old[: first - 1], "lines before the function changed"
    assert new[len(new) - tail :] == old[last:], "lines after the function changed"
    assert without(mutated, mutation.function) == without(source, mutation.function)
    node_old = dict(function_units(ast.parse(source)))[mutation.function]
    node_new = dict(function_units(ast.parse(mutated)))[mutation.function]
    assert ast.dump(node_old) != ast.dump(node_new), "the function did not change"
    return mutated


def test_every_operator_yields_valid_confined_mutants() -> None:
    mutations = find_mutations(SNIPPET, "pkg/mod.py")
    assert {m.operator for m in mutations} == set(OPERATORS)
    for mutation in mutations:
        assert mutation.path == "pkg/mod.py"
        assert_confined(SNIPPET, mutation)


@pytest.mark.parametrize(("operator", "before", "after"), [
    ("comparison", "    if x < lo:\n", "    if x <= lo:\n"),
    ("comparison", "[v is None for", "[v is not None for"),
    ("binary_operator", "            total += x\n", "            total -= x\n"),
    ("binary_operator", "return total / len(xs)", "return total * len(xs)"),
    ("off_by_one", "for i in range(len(xs) - n + 1)]", "for i in range((len(xs) - n + 1) + 1)]"),
    ("off_by_one", "xs[i:i + n]", "xs[i:(i + n) - 1]"),
    ("off_by_one", "        total = 0\n", "        total = 1\n"),
    ("drop_branch", "    if x < lo:\n        return lo\n", "    if x < lo:\n        pass\n"),
    ("drop_branch", "    elif x > hi:  # too big\n        return hi\n", ""),
    ("negate_condition", "    if x < lo:\n", "    if not (x < lo):\n"),
    ("negate_condition", "if xs else None", "if not (xs) else None"),
    ("remove_not", "return not a and b", "return a and b"),
    ("boolean_operator", "not a and b or math", "not a or b or math"),
    ("boolean_operator", "not a and b or math", "not a and b and math"),
    ("boolean_constant", "[True, ", "[False, "),
    ("default_argument", "lo=0, hi=LIMIT, strict=False", "lo=1, hi=LIMIT, strict=False"),
    ("default_argument", "lo=0, hi=LIMIT, strict=False", "lo=0, hi=LIMIT, strict=True"),
    ("swap_arguments", "math.isclose(a, b)", "math.isclose(b, a)"),
    ("return_none", "        return lo\n", "        return None\n"),
])
def test_operator_makes_the_expected_minimal_edit(operator: str, before: str, after: str) -> None:
    expected = SNIPPET.replace(before, after, 1)
    assert expected != SNIPPET
    produced = [m.apply(SNIPPET) for m in find_mutations(SNIPPET, "m.py") if m.operator == operator]
    assert expected in produced


def test_strings_docstrings_and_module_code_are_left_alone() -> None:
    for mutation in find_mutations(SNIPPET, "m.py"):
        mutated = mutation.apply(SNIPPET)
        assert '"x" - str' not in mutated  # string concatenation is not an arithmetic bug
        assert "LIMIT = 10  #" in mutated and '"""Module docstring: 1 < 2."""' in mutated
        assert '"""Clamp x into [lo, hi]; 3 > 2."""' in mutated


def test_lines_point_at_the_mutated_code() -> None:
    by_text = {m.apply(SNIPPET): m for m in find_mutations(SNIPPET, "m.py")}
    elif_removed = by_text[SNIPPET.replace("    elif x > hi:  # too big\n        return hi\n", "")]
    assert elif_removed.lines == (11, 12)
    default = by_text[SNIPPET.replace("strict=False", "strict=True")]
    assert default.lines == (8, 13)  # the body: tests that run the function see a changed default


def test_non_ascii_text_and_crlf_line_endings_keep_offsets_right() -> None:
    source = 'def f(s):\r\n    t = "é" * 2  # ünïcode\r\n    return len(s) < 3 and t == "éé"\r\n'
    mutated = [m.apply(source) for m in find_mutations(source, "m.py")]
    assert source.replace("len(s) < 3", "len(s) <= 3") in mutated
    assert source.replace('t == "éé"', 't != "éé"') in mutated
    for text in mutated:
        ast.parse(text)
        assert text.count("\r\n") == source.count("\r\n")


def test_units_cover_methods_and_conditionally_defined_functions() -> None:
    source = "import sys\nif sys:\n    def a(): return 1\nelse:\n    def a(): return 2\nclass C:\n    class D:\n" \
             "        def m(self): return 0\n"
    assert [name for name, _ in function_units(ast.parse(source))] == ["a", "a", "C.D.m"]


def test_unparsable_source_has_no_mutations() -> None:
    assert find_mutations("def broken(:\n", "m.py") == []
