"""The template syntax tree. Each node appends its output to a list of strings."""

from .context import Undefined
from .errors import TemplateError
from .expressions import evaluate
from .filters import escape


class Text:
    def __init__(self, text):
        self.text = text

    def render(self, ctx, out):
        out.append(self.text)


class Output:
    def __init__(self, expr):
        self.expr = expr

    def render(self, ctx, out):
        value = evaluate(self.expr, ctx)
        if value is None or isinstance(value, Undefined):
            return
        out.append(escape(value) if ctx.autoescape else str(value))


class Set:
    def __init__(self, name, expr):
        self.name = name
        self.expr = expr

    def render(self, ctx, out):
        ctx.set(self.name, evaluate(self.expr, ctx))


class LoopInfo:
    def __init__(self, index0, length):
        self.index0 = index0
        self.index = index0 + 1
        self.length = length
        self.first = index0 == 0
        self.last = index0 == length - 1
        self.revindex = length - index0


class For:
    def __init__(self, targets, iterable, body, else_body):
        self.targets = targets  # one name, or several for unpacking: {% for k, v in pairs %}
        self.iterable = iterable
        self.body = body
        self.else_body = else_body

    def render(self, ctx, out):
        value = evaluate(self.iterable, ctx)
        if isinstance(value, dict):
            value = value.items() if len(self.targets) == 2 else value.keys()
        items = list(value)
        if not items:
            for node in self.else_body:
                node.render(ctx, out)
            return
        with ctx.scope():
            for index, item in enumerate(items):
                if len(self.targets) == 1:
                    ctx.set(self.targets[0], item)
                else:
                    try:
                        values = tuple(item)
                    except TypeError:
                        raise TemplateError(f"cannot unpack {item!r}") from None
                    if len(values) != len(self.targets):
                        raise TemplateError(f"cannot unpack {item!r} into {', '.join(self.targets)}")
                    for name, v in zip(self.targets, values):
                        ctx.set(name, v)
                ctx.set("loop", LoopInfo(index, len(items)))
                for node in self.body:
                    node.render(ctx, out)


class If:
    def __init__(self, branches, else_body):
        self.branches = branches  # [(condition, body), ...]
        self.else_body = else_body

    def render(self, ctx, out):
        for condition, body in self.branches:
            if evaluate(condition, ctx):
                for node in body:
                    node.render(ctx, out)
                return
        for node in self.else_body:
            node.render(ctx, out)
