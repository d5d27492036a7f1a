"""minitemplate: a tiny Jinja-like template engine."""

from .context import Context, Undefined
from .errors import TemplateError, TemplateSyntaxError
from .filters import FILTERS, Markup
from .lexer import tokenize
from .parser import parse


class Template:
    def __init__(self, source, autoescape=False, filters=None):
        self.source = source
        self.autoescape = autoescape
        self.filters = dict(FILTERS)
        self.filters.update(filters or {})
        self.nodes = parse(tokenize(source))

    def render(self, data=None, **kwargs):
        values = dict(data or {})
        values.update(kwargs)
        ctx = Context(values, filters=self.filters, autoescape=self.autoescape)
        out = []
        for node in self.nodes:
            node.render(ctx, out)
        return "".join(out)


__all__ = ["FILTERS", "Context", "Markup", "Template", "TemplateError", "TemplateSyntaxError", "Undefined"]
