"""Bug injection: small mutations of one function, found with `ast` and applied as minimal text edits.

A mutation is located on the AST (a comparison, an operator, a constant, a branch, ...) but applied
as an edit of exactly the source bytes of that node or token, so the rest of the file -- comments,
formatting, the other functions -- stays byte-identical and the gold patch is a one- or two-line
diff (re-printing the function with `ast.unparse` would reformat it and point straight at the bug).
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

_BINOP_SYMBOL: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
}
_BINOP_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitAnd,
    ast.LShift: ast.RShift, ast.RShift: ast.LShift,
}
_CMP_SYMBOL: dict[type[ast.cmpop], str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_CMP_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}
# Swapping the arguments of these is a type error or a no-op, never an interesting bug.
_NO_SWAP = {"isinstance", "issubclass", "getattr", "setattr", "hasattr", "max", "min", "print", "super", "range"}
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)

OPERATORS = (
    "binary_operator",  # a + b -> a - b, x * 2 -> x // 2, ...
    "comparison",  # < -> <=, == -> !=, in -> not in, ...
    "off_by_one",  # integer constants, slice bounds and range() stops +-1
    "drop_branch",  # an if-body becomes `pass`, an elif disappears
    "negate_condition",  # if c: -> if not (c):
    "remove_not",  # not x -> x
    "boolean_operator",  # and <-> or
    "boolean_constant",  # True <-> False
    "default_argument",  # def f(n=1) -> def f(n=2), flag=False -> flag=True
    "swap_arguments",  # f(a, b) -> f(b, a)
    "return_none",  # return value -> return None
)


@dataclass(frozen=True)
class Edit:
    """Replace source[start:end] (character offsets) with `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Mutation:
    """One injected bug: where it is, what kind it is, and the edits that make it."""

    path: str  # file, relative to the package's source root
    function: str  # qualified name of the mutated function, e.g. "Version.bump_minor"
    operator: str  # one of OPERATORS
    lines: tuple[int, int]  # the lines a test must execute to observe the bug
    edits: tuple[Edit, ...]

    def apply(self, source: str) -> str:
        """The mutated file text (the same `source` the mutation was found in)."""
        out = source
        for edit in sorted(self.edits, key=lambda e: e.start, reverse=True):
            out = out[: edit.start] + edit.text + out[edit.end :]
        return out


def function_units(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Module-level functions and methods (also under module-level if/try), with their qualified names.
    A nested function belongs to the unit that encloses it."""
    units: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, _FUNCTIONS):
                units.append((prefix + node.name, node))
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.If):
                visit(node.body + node.orelse, prefix)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body], prefix)

    visit(tree.body, "")
    return units


def find_mutations(source: str, path: str) -> list[Mutation]:
    """Every candidate mutation in the file's functions, in source order ([] if it does not parse)."""
    try:
        text = _Source(source)
        tree = ast.parse(source)
    except (SyntaxError, ValueError, tokenize.TokenError, IndentationError):
        return []
    found: list[Mutation] = []
    for qualname, unit in function_units(tree):
        body_lines = (unit.body[0].lineno, unit.end_lineno or unit.lineno)
        for operator, lines, edits in _default_arguments(unit, text, body_lines):
            found.append(Mutation(path, qualname, operator, lines, edits))
        for node in _walk(unit):
            for operator, edits, lines in _mutations_at(node, text):
                lines = lines or (node.lineno, node.end_lineno or node.lineno)
                found.append(Mutation(path, qualname, operator, lines, edits))
    return found


# --------------------------------------------------------------------------- source positions


class _Source:
    """Source text with AST positions (UTF-8 byte columns) mapped to character offsets, and its tokens."""

    def __init__(self, source: str) -> None:
        self.text = source
        self.lines = [m.group() for m in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", source)]
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.tokens: list[tuple[int, int, str]] = []  # (start, end, string) of operator and name tokens
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.OP, tokenize.NAME):
                self.tokens.append((self._at(*tok.start), self._at(*tok.end), tok.string))
        self._token_starts = [t[0] for t in self.tokens]

    def _at(self, lineno: int, char_col: int) -> int:
        return self.starts[lineno - 1] + char_col

    def offset(self, lineno: int, byte_col: int) -> int:
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        col = byte_col if line.isascii() else len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
        return self._at(lineno, col)

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset))

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def tokens_between(self, start: int, end: int) -> list[tuple[int, int, str]]:
        """Operator/name tokens in [start, end), parentheses left out."""
        i = bisect.bisect_left(self._token_starts, start)
        out = []
        while i < len(self.tokens) and self.tokens[i][1] <= end:
            if self.tokens[i][2] not in "()":
                out.append(self.tokens[i])
            i += 1
        return out


# --------------------------------------------------------------------------- the operators


def _walk(unit: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Nodes of the function's body in source order, leaving out its docstring, annotations, decorators of
    nested definitions and f-strings (whose inner positions are unreliable)."""
    body = unit.body[1:] if _is_docstring(unit.body[0]) else unit.body
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.JoinedStr):
            continue
        yield node
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            children: list[ast.AST] = list(node.body)
        elif isinstance(node, ast.Lambda):
            children = [node.body]
        elif isinstance(node, ast.AnnAssign):
            children = [node.target] + ([node.value] if node.value else [])
        else:
            children = list(ast.iter_child_nodes(node))
        stack.extend(reversed(children))


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


_Found = tuple[str, tuple[Edit, ...], tuple[int, int] | None]  # operator, edits, lines (None: the node's)


def _mutations_at(node: ast.AST, src: _Source) -> Iterator[_Found]:
    if isinstance(node, ast.BinOp):
        yield from _binary(node, src)
    elif isinstance(node, ast.AugAssign):
        yield from _augmented(node, src)
    elif isinstance(node, ast.Compare):
        yield from _comparison(node, src)
    elif isinstance(node, ast.BoolOp):
        yield from _boolean_operator(node, src)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield from _remove_not(node, src)
    elif isinstance(node, ast.Constant):
        yield from _constant(node, src)
    elif isinstance(node, ast.Slice):
        for bound in (node.lower, node.upper):
            if bound is not None:
                yield from _shift(bound, src)
    elif isinstance(node, ast.If):
        yield from _drop_branch(node, src)
        yield from _negate(node.test, src)
    elif isinstance(node, ast.IfExp):
        yield from _negate(node.test, src)
    elif isinstance(node, ast.Call):
        yield from _call(node, src)
    elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
        yield "return_none", (Edit(*src.span(node.value), "None"),), None


def _replace_tokens(src: _Source, left: ast.AST, right: ast.AST, old: str, new: str) -> tuple[Edit, ...] | None:
    """The edit that turns the operator `old` between two operands into `new` (None if not found as expected)."""
    tokens = src.tokens_between(src.span(left)[1], src.span(right)[0])
    if not tokens or " ".join(t[2] for t in tokens) != old:
        return None
    return (Edit(tokens[0][0], tokens[-1][1], new),)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str | bytes))


def _binary(node: ast.BinOp, src: _Source) -> Iterator[_Found]:
    op = type(node.op)
    if op not in _BINOP_SWAP or (op in (ast.Add, ast.Mod, ast.Mult) and (_is_text(node.left) or _is_text(node.right))):
        return  # string concatenation / %-formatting / repetition: a mutant would only be a TypeError
    edits = _replace_tokens(src, node.left, node.right, _BINOP_SYMBOL[op], _BINOP_SYMBOL[_BINOP_SWAP[op]])
    if edits:
        yield "binary_operator", edits, None


def _augmented(node: ast.AugAssign, src: _Source) -> Iterator[_Found]:
    op = type(node.op)
    if op not in _BINOP_SWAP or _is_text(node.value):
        return
    new = _BINOP_SYMBOL[_BINOP_SWAP[op]] + "="
    edits = _replace_tokens(src, node.target, node.value, _BINOP_SYMBOL[op] + "=", new)
    if edits:
        yield "binary_operator", edits, None


def _comparison(node: ast.Compare, src: _Source) -> Iterator[_Found]:
    operands = [node.left, *node.comparators]
    for i, op in enumerate(node.ops):
        kind = type(op)
        edits = _replace_tokens(src, operands[i], operands[i + 1], _CMP_SYMBOL[kind], _CMP_SYMBOL[_CMP_SWAP[kind]])
        if edits:
            yield "comparison", edits, None


def _boolean_operator(node: ast.BoolOp, src: _Source) -> Iterator[_Found]:
    old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
    edits: list[Edit] = []
    for left, right in zip(node.values, node.values[1:], strict=False):
        found = _replace_tokens(src, left, right, old, new)
        if found is None:
            return
        edits.extend(found)
    yield "boolean_operator", tuple(edits), None


def _remove_not(node: ast.UnaryOp, src: _Source) -> Iterator[_Found]:
    start = src.span(node)[0]
    if src.text.startswith("not", start):
        end = start + 3
        while src.text[end] in " \t":
            end += 1
        yield "remove_not", (Edit(start, end, ""),), None


def _constant(node: ast.Constant, src: _Source) -> Iterator[_Found]:
    span = src.span(node)
    if isinstance(node.value, bool):
        yield "boolean_constant", (Edit(*span, str(not node.value)),), None
    elif isinstance(node.value, int):
        yield "off_by_one", (Edit(*span, str(node.value + 1)),), None
        yield "off_by_one", (Edit(*span, str(node.value - 1)),), None


def _shift(bound: ast.expr, src: _Source) -> Iterator[_Found]:
    """A non-constant slice bound or range() stop, one more / one less (constants are covered by _constant)."""
    if isinstance(bound, ast.Constant) or (isinstance(bound, ast.UnaryOp) and isinstance(bound.operand, ast.Constant)):
        return
    text = src.segment(bound)
    if not isinstance(bound, _ATOMS):
        text = f"({text})"
    for delta in ("+ 1", "- 1"):
        yield "off_by_one", (Edit(*src.span(bound), f"{text} {delta}"),), None


def _drop_branch(node: ast.If, src: _Source) -> Iterator[_Found]:
    if not (len(node.body) == 1 and isinstance(node.body[0], ast.Pass)):
        yield "drop_branch", (Edit(src.span(node.body[0])[0], src.span(node.body[-1])[1], "pass"),), None
    if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
        elif_node = node.orelse[0]
        if src.lines[elif_node.lineno - 1].lstrip().startswith("elif"):
            last = elif_node.body[-1].end_lineno or elif_node.lineno
            lines = (elif_node.lineno, last)
            yield "drop_branch", (Edit(src.starts[elif_node.lineno - 1], src.starts[last], ""),), lines


def _negate(test: ast.expr, src: _Source) -> Iterator[_Found]:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return  # remove_not covers it
    start, end = src.span(test)
    yield "negate_condition", (Edit(start, start, "not ("), Edit(end, end, ")")), None


def _call(node: ast.Call, src: _Source) -> Iterator[_Found]:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name == "range" and node.args and not any(isinstance(a, ast.Starred) for a in node.args):
        yield from _shift(node.args[0] if len(node.args) == 1 else node.args[1], src)
    if len(node.args) < 2 or name in _NO_SWAP or any(isinstance(a, ast.Starred) for a in node.args[:2]):
        return
    first, second = node.args[0], node.args[1]
    a, b = src.segment(first), src.segment(second)
    if a != b:
        yield "swap_arguments", (Edit(*src.span(first), b), Edit(*src.span(second), a)), None


def _default_arguments(
    unit: ast.FunctionDef | ast.AsyncFunctionDef, src: _Source, lines: tuple[int, int]
) -> Iterator[tuple[str, tuple[int, int], tuple[Edit, ...]]]:
    for default in [*unit.args.defaults, *unit.args.kw_defaults]:
        if not isinstance(default, ast.Constant) or isinstance(default.value, str | bytes | float | type(None)):
            continue
        span = src.span(default)
        if isinstance(default.value, bool):
            yield "default_argument", lines, (Edit(*span, str(not default.value)),)
        elif isinstance(default.value, int):
            yield "default_argument", lines, (Edit(*span, str(default.value + 1)),)
