"""A pytest plugin loaded into every synthesis test run (``-p comem.tasks.synth.plugin``).

It writes one JSON report to ``$COMEM_SYNTH_REPORT``: each test's outcome and duration and, for a
failure, what a user would see -- the call that misbehaved, the value it returned and the value the
test expected (read from the failing test frame while it is still alive). Under ``coverage run`` it
also names each coverage context after the running test's node id, so the coverage data says which
tests execute which lines. It runs inside the package's test process, so it needs only the standard
library and pytest.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import types
from pathlib import Path
from typing import Any

import pytest

REPORT_ENV = "COMEM_SYNTH_REPORT"
_REPR_CAP = 300
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_EQUAL_ASSERTS = {
    "assertEqual", "assertEquals", "assertListEqual", "assertTupleEqual", "assertDictEqual", "assertSetEqual",
    "assertSequenceEqual", "assertMultiLineEqual", "assertAlmostEqual", "assertCountEqual", "assertIs",
}

_COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"}

_tests: dict[str, dict[str, Any]] = {}
_collect_errors: dict[str, str] = {}
_failures: dict[str, dict[str, Any]] = {}
_trees: dict[str, ast.Module | None] = {}


def _coverage() -> Any:
    try:
        import coverage
    except ImportError:
        return None
    return coverage.Coverage.current()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    cov = _coverage()
    if cov is not None:
        cov.switch_context(item.nodeid)
    try:
        return (yield)
    finally:
        if cov is not None:
            cov.switch_context("")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and call.excinfo is not None and item.nodeid not in _failures:
        try:
            _failures[item.nodeid] = _describe_failure(item, call.excinfo)
        except Exception:  # describing is best effort; it must never break the run
            error = call.excinfo.value
            _failures[item.nodeid] = {"kind": "other", "exc_type": type(error).__name__, "message": _short(str(error))}
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _tests.setdefault(report.nodeid, {"outcome": "passed", "duration": 0.0})
    entry["duration"] += report.duration
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _collect_errors[report.nodeid or "."] = str(report.longrepr)[-2000:]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    for nodeid, failure in _failures.items():
        if nodeid in _tests:
            _tests[nodeid]["failure"] = failure
    data = {"exitstatus": int(exitstatus), "tests": _tests, "collect_errors": _collect_errors}
    Path(path).write_text(json.dumps(data, sort_keys=True), encoding="utf-8")


# --------------------------------------------------------------------------- describing a failure


def _describe_failure(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> dict[str, Any]:
    exc = excinfo.value
    info: dict[str, Any] = {"kind": "other", "exc_type": type(exc).__name__, "message": _short(str(exc))}
    found = _test_frame(excinfo.tb, str(item.path))
    if found is None:
        return info
    frame, lineno, callee = found
    stmt = _statement(str(item.path), lineno)
    if stmt is None:
        return info
    info["statement"] = _short(ast.unparse(stmt), 600)
    if type(exc).__name__ == "Failed" and str(exc).startswith("DID NOT RAISE"):
        return {**info, **_no_raise(stmt, frame)}
    if isinstance(exc, AssertionError):
        described = _assertion(stmt, frame, callee)
    else:
        described = _raised(stmt, frame, callee, exc)
    return {**info, **described} if described else info


def _test_frame(tb: types.TracebackType | None, test_file: str) -> tuple[types.FrameType, int, Any] | None:
    """The last traceback entry in the test file, and the frame it called into (if any)."""
    found = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == test_file:
            found = (tb.tb_frame, tb.tb_lineno, tb.tb_next.tb_frame if tb.tb_next else None)
        tb = tb.tb_next
    return found


def _statement(path: str, lineno: int) -> ast.stmt | None:
    """The innermost statement of the test file that spans `lineno`."""
    if path not in _trees:
        try:
            _trees[path] = ast.parse(Path(path).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            _trees[path] = None
    tree = _trees[path]
    if tree is None:
        return None
    spanning = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.lineno <= lineno <= (n.end_lineno or 0)]
    return min(spanning, key=lambda n: (n.end_lineno or 0) - n.lineno, default=None)


def _assertion(stmt: ast.stmt, frame: types.FrameType, callee: Any) -> dict[str, Any] | None:
    if isinstance(stmt, ast.Assert):
        test = stmt.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq | ast.Is):
            actual, expected = _actual_first(test.left, test.comparators[0], frame)
            return _equal(actual, expected, frame)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return _truth(test.operand, frame, should_be=False)
        return _truth(test, frame, should_be=True)
    if isinstance(stmt, ast.With):  # `with self.assertRaises(E): ...` did not raise
        return _no_raise(stmt, frame)
    call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
    if call is None or not isinstance(call.func, ast.Attribute):
        return None
    name = call.func.attr
    if name in _EQUAL_ASSERTS and len(call.args) >= 2:
        actual, expected = _actual_first(call.args[0], call.args[1], frame)
        if callee is None or not {"first", "second"} <= set(callee.f_locals):
            return _equal(actual, expected, frame)
        # unittest already evaluated both sides once: report those values rather than calling again
        values = [_repr(callee.f_locals["first"]), _repr(callee.f_locals["second"])]
        if actual is call.args[1]:
            values.reverse()
        return {"kind": "equal", "expression": _text(actual, frame), "actual": values[0], "expected": values[1],
                "locals": _locals(actual, frame)}
    if name in ("assertTrue", "assert_") and call.args:
        return _truth(call.args[0], frame, should_be=True)
    if name == "assertFalse" and call.args:
        return _truth(call.args[0], frame, should_be=False)
    if name == "assertIsNone" and call.args:
        return _equal(call.args[0], ast.Constant(None), frame)
    if name == "assertRaises" and len(call.args) >= 2:  # self.assertRaises(E, f, *args) did not raise
        fn = ast.Call(func=call.args[1], args=call.args[2:], keywords=[k for k in call.keywords if k.arg != "msg"])
        return {"kind": "no_raise", "expression": _text(fn, frame), "expected": _text(call.args[0], frame)}
    return None


def _no_raise(stmt: ast.stmt, frame: types.FrameType) -> dict[str, Any]:
    """`with pytest.raises(E): call(...)` where the call returned normally."""
    expected = None
    body: list[ast.stmt] = []
    if isinstance(stmt, ast.With):
        body = stmt.body
        for item in stmt.items:
            ctx = item.context_expr
            if isinstance(ctx, ast.Call) and ctx.args:
                expected = _text(ctx.args[0], frame)
    expr = _value_of(body[0]) if body else None
    out: dict[str, Any] = {"kind": "no_raise", "expected": expected}
    if expr is not None:
        out["expression"] = _text(expr, frame)
        out["locals"] = _locals(expr, frame)
    return out


def _raised(stmt: ast.stmt, frame: types.FrameType, callee: Any, exc: BaseException) -> dict[str, Any] | None:
    """An unexpected exception: which call raised it and, when the test compared it, what was expected."""
    expected = None
    expr = _value_of(stmt)
    if isinstance(stmt, ast.Assert) and isinstance(stmt.test, ast.Compare) and len(stmt.test.ops) == 1:
        raised_in = callee.f_code.co_name if callee is not None else None
        expr, expected_node = _actual_first(stmt.test.left, stmt.test.comparators[0], frame, raised_in)
        expected = _evaluate(expected_node, frame)
        if raised_in in _COMPARISONS or not _has_call(expr):  # the comparison itself raised
            expr, expected = stmt.test, None
    if expr is None:
        return None
    return {
        "kind": "raises",
        "expression": _text(expr, frame),
        "expected": expected,
        "raised": f"{type(exc).__name__}: {_short(str(exc), 200)}".rstrip(": "),
        "locals": _locals(expr, frame),
    }


def _equal(actual: ast.expr, expected: ast.expr, frame: types.FrameType) -> dict[str, Any] | None:
    observed, wanted = _observed(actual, frame), _evaluate(expected, frame)
    if _unbound(observed["actual"]) or _unbound(wanted):
        return None
    return {"kind": "equal", **observed, "expected": wanted}


def _truth(expr: ast.expr, frame: types.FrameType, *, should_be: bool) -> dict[str, Any] | None:
    observed = _observed(expr, frame)
    return None if _unbound(observed["actual"]) else {"kind": "truthy" if should_be else "falsy", **observed}


def _unbound(value: str | None) -> bool:
    """Re-evaluation needed a name that is gone (`except E as e` unbinds `e`): no value to report."""
    return (value or "").startswith(("raises NameError", "raises UnboundLocalError"))


def _has_call(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _observed(node: ast.expr, frame: types.FrameType) -> dict[str, Any]:
    """The expression a user would show, and its value. A bare local variable stands for the call that
    produced it (`result = v.to_dict()` ... `assert result == {...}` reports `v.to_dict()`, with the value
    the test saw rather than a second call)."""
    source = _assignment(node, frame) if isinstance(node, ast.Name) and node.id in frame.f_locals else None
    if source is None:
        return {"expression": _text(node, frame), "actual": _evaluate(node, frame), "locals": _locals(node, frame)}
    return {"expression": _text(source, frame), "actual": _repr(frame.f_locals[node.id]),
            "locals": _locals(source, frame)}


def _assignment(name: ast.Name, frame: types.FrameType) -> ast.expr | None:
    """The call last assigned to `name` before the failing line, in the test function's own code."""
    tree = _trees.get(frame.f_code.co_filename)
    line = frame.f_lineno
    if tree is None:
        return None
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.lineno <= line <= (n.end_lineno or 0)]
    if not functions:
        return None
    function = min(functions, key=lambda n: (n.end_lineno or 0) - n.lineno)
    assigned = [a for a in ast.walk(function) if isinstance(a, ast.Assign) and (a.end_lineno or 0) < line
                and len(a.targets) == 1 and isinstance(a.targets[0], ast.Name) and a.targets[0].id == name.id]
    if not assigned:
        return None
    value = max(assigned, key=lambda a: a.lineno).value
    return value if isinstance(value, ast.Call) else None


def _value_of(stmt: ast.stmt) -> ast.expr | None:
    if isinstance(stmt, ast.Expr | ast.Return | ast.Assign | ast.AugAssign | ast.AnnAssign):
        return stmt.value
    if isinstance(stmt, ast.Assert):
        return stmt.test
    return None


def _actual_first(a: ast.expr, b: ast.expr, frame: types.FrameType,
                  raised_in: str | None = None) -> tuple[ast.expr, ast.expr]:
    """Order two compared expressions as (actual, expected): the side that called the function that raised,
    else the side that calls into the package under test, else the side that calls anything."""

    def score(node: ast.expr) -> tuple[bool, bool, bool]:
        calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
        names = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "") for n in calls}
        return raised_in in names, any(_is_package_function(c.func, frame) for c in calls), bool(calls)

    return (b, a) if score(b) > score(a) else (a, b)


def _is_package_function(func: ast.expr, frame: types.FrameType) -> bool:
    """Whether a called name (`f`, `mod.f`, `obj.method`) is defined outside the test module, the standard
    library's builtins and the test frameworks: i.e. most likely in the package under test."""
    node = func
    while isinstance(node, ast.Attribute):
        node = node.value
    if not isinstance(node, ast.Name):
        return False  # never evaluate calls just to classify them
    try:
        value = _evaluate_value(func, frame)
    except Exception:
        return False
    module = getattr(value, "__module__", None) or ""
    return bool(module) and module != frame.f_globals.get("__name__") and \
        module.split(".")[0] not in ("builtins", "unittest", "_pytest", "pytest")


def _evaluate(node: ast.expr, frame: types.FrameType) -> str | None:
    """repr of the expression evaluated again in the failing test frame ('raises X: ...' if it raises)."""
    try:
        return _repr(_evaluate_value(node, frame))
    except Exception as exc:
        return f"raises {type(exc).__name__}: {_short(str(exc), 200)}".rstrip(": ")


def _evaluate_value(node: ast.expr, frame: types.FrameType) -> Any:
    code = compile(ast.fix_missing_locations(ast.Expression(body=copy.deepcopy(node))), "<comem-synth>", "eval")
    return eval(code, frame.f_globals, dict(frame.f_locals))


def _text(node: ast.expr, frame: types.FrameType) -> str:
    """Source of the expression with module aliases spelled out (`mi.foo` -> `more_itertools.foo`)."""

    class Spell(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.AST:
            value = frame.f_locals.get(name.id, frame.f_globals.get(name.id))
            if isinstance(value, types.ModuleType) and value.__name__ != name.id:
                return ast.copy_location(ast.Name(id=value.__name__, ctx=name.ctx), name)
            return name

    return _short(ast.unparse(Spell().visit(copy.deepcopy(node))), 400)


def _locals(node: ast.expr, frame: types.FrameType) -> dict[str, str]:
    """Values of the test's local variables that the expression uses (data, not modules or functions)."""
    out: dict[str, str] = {}
    for name in sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)}):
        if name == "self" or name not in frame.f_locals:
            continue
        value = frame.f_locals[name]
        if isinstance(value, types.ModuleType | types.FunctionType | types.BuiltinFunctionType | type):
            continue
        try:
            repr(value)
        except Exception:
            continue  # a value whose repr the bug broke says nothing to the reader
        out[name] = _repr(value, 120)
        if len(out) == 4:
            break
    return out


def _repr(value: Any, cap: int = _REPR_CAP) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return _short(_ADDRESS.sub("", text), cap)


def _short(text: str, cap: int = _REPR_CAP) -> str:
    text = _ADDRESS.sub("", text).strip()
    return text if len(text) <= cap else text[: cap - 1] + "…"
