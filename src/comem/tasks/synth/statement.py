"""Issue-like problem statements written from the failing behaviour, as a user would report it.

The statement names the call that misbehaves, what it returned (or raised) and what was expected,
taken from the failing tests' frames by the plugin. It never names a test or the mutation: the agent
must find the bug from the symptom, as in a real issue.
"""

from __future__ import annotations

import ast

from comem.tasks.synth.runner import Failure

_WRAPPERS = {"list", "tuple", "set", "frozenset", "dict", "sorted", "str", "repr", "len", "next", "iter", "type",
             "bool", "int", "float", "sum", "any", "all", "round", "abs"}
_RANK = {"equal": 0, "raises": 1, "no_raise": 2, "truthy": 3, "falsy": 3, "other": 4}
_MAX_EXAMPLES = 3


def problem_statement(package: str, failures: list[tuple[str, Failure]], forbidden: set[str]) -> str:
    """`failures`: (node id, what it saw) of the FAIL_TO_PASS tests; `forbidden`: words that must not appear
    (the tests' names). Examples that would show a forbidden word are left out (a variable that does is
    dropped from its example); with no example left, the statement names only the exception type."""
    examples: list[Failure] = []
    seen: set[str] = set()
    for _, failure in sorted(failures, key=lambda f: (_RANK[_kind(f[1])], f[0])):
        example = _without(failure, forbidden)
        key = failure.expression or f"{failure.exc_type}: {failure.message}"
        if example is not None and key not in seen:
            seen.add(key)
            examples.append(example)
    if not examples and failures:
        examples = [Failure(exc_type=failures[0][1].exc_type)]
    return _compose(package, examples[:_MAX_EXAMPLES])


def _without(failure: Failure, forbidden: set[str]) -> Failure | None:
    def leaks(text: str | None) -> bool:
        return any(word in (text or "") for word in forbidden)

    failure = failure.model_copy(update={"locals": {k: v for k, v in failure.locals.items()
                                                    if not leaks(k) and not leaks(v)}})
    fields = (failure.expression, failure.actual, failure.expected, failure.raised, failure.message, failure.statement)
    return None if any(leaks(f) for f in fields) else failure


def _kind(failure: Failure) -> str:
    if failure.kind == "equal" and (failure.actual or "").startswith("raises "):
        return "raises"
    if failure.kind != "other" and not failure.expression:
        return "other"
    return failure.kind


def _compose(package: str, examples: list[Failure]) -> str:
    if not examples:
        return f"Some calls into {package} give wrong results.\n"
    first = examples[0]
    parts = [_title(package, first), _sentence(package, first)]
    repro = _reproducer(first)
    if repro:
        parts.append(repro)
    if len(examples) > 1:
        parts.append("The same happens with:\n\n" + "\n".join(f"- {_sentence(package, e)}" for e in examples[1:]))
    parts.append(f"Seen with {package}.")
    return "\n\n".join(parts) + "\n"


def _title(package: str, failure: Failure) -> str:
    kind, callee = _kind(failure), _callee(failure.expression)
    if kind == "raises":
        return f"`{callee}` raises {_raised(failure).split(':')[0]}"
    if kind == "no_raise":
        return f"`{callee}` does not raise {failure.expected or 'an error'}"
    if kind == "other":
        return f"{package}: unexpected {failure.exc_type or 'failure'}"
    if kind in ("truthy", "falsy"):
        return f"`{_shorten(failure.expression or '')}` is {failure.actual}, expected {kind == 'truthy'}"
    return f"`{callee}` returns a wrong result" if callee != failure.expression else f"Wrong value of `{callee}`"


def _sentence(package: str, failure: Failure) -> str:
    kind, expr = _kind(failure), failure.expression
    where = ""
    if failure.locals:
        where = " (with " + ", ".join(f"`{k} = {v}`" for k, v in failure.locals.items()) + ")"
    subject = f"Calling `{expr}`{where}" if _is_call(expr) else f"`{expr}`{where}"
    if kind == "equal":
        verb = "returns" if subject.startswith("Calling") else "is"
        if failure.actual == failure.expected:
            return f"{subject} {verb} `{failure.actual}`, which is not equal to the expected `{failure.expected}`."
        return f"{subject} {verb} `{failure.actual}`, but `{failure.expected}` was expected."
    if kind == "raises":
        instead = ""
        if failure.expected and not failure.expected.startswith("raises "):
            instead = f" instead of returning `{failure.expected}`"
        return f"{subject} raises `{_raised(failure)}`{instead}."
    if kind == "no_raise":
        return f"{subject} should raise `{failure.expected or 'an exception'}`, but it does not raise anything."
    if kind in ("truthy", "falsy"):
        want = "true" if kind == "truthy" else "false"
        return f"I expected `{expr}`{where} to be {want}, but it is `{failure.actual}`."
    message = f": {failure.message}" if failure.message else ""
    line = f"Using {package} fails with `{failure.exc_type or 'an error'}{message}`"
    return line + (f" in:\n\n```python\n{failure.statement}\n```" if failure.statement else ".")


def _reproducer(failure: Failure) -> str | None:
    kind = _kind(failure)
    if kind in ("other", "no_raise") or not failure.expression:
        return None
    setup = "".join(f">>> {k} = {v}\n" for k, v in failure.locals.items())
    result = f"Traceback (most recent call last):\n  ...\n{_raised(failure)}" if kind == "raises" else failure.actual
    return f"```python\n{setup}>>> {failure.expression}\n{result}\n```"


def _shorten(text: str, cap: int = 60) -> str:
    return text if len(text) <= cap else text[: cap - 1] + "…"


def _raised(failure: Failure) -> str:
    if failure.raised:
        return failure.raised
    return (failure.actual or "").removeprefix("raises ")


def _is_call(expression: str | None) -> bool:
    try:
        return isinstance(ast.parse(expression or "", mode="eval").body, ast.Call)
    except SyntaxError:
        return False


def _callee(expression: str | None) -> str:
    """The function a user would say misbehaves: the outermost call that is not a builtin wrapper."""
    if not expression:
        return ""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return expression
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _WRAPPERS):
            return ast.unparse(node.func)
    return expression
