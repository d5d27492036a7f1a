"""Built-in filters. A filter is a function (value, *args) -> value."""

import html


class Markup(str):
    """A string that is already safe for HTML and must not be escaped again."""


def escape(value):
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def safe(value):
    return Markup(str(value))


def default(value, fallback="", boolean=False):
    from .context import Undefined

    if isinstance(value, Undefined) or value is None or (boolean and not value):
        return fallback
    return value


def join(value, separator=""):
    return separator.join(str(v) for v in value)


def length(value):
    return len(value)


def first(value):
    for item in value:
        return item
    return None


def last(value):
    items = list(value)
    return items[-1] if items else None


def truncate(value, size=80, end="..."):
    text = str(value)
    return text if len(text) <= size else text[: max(size - len(end), 0)] + end


FILTERS = {
    "upper": lambda v: str(v).upper(),
    "lower": lambda v: str(v).lower(),
    "title": lambda v: str(v).title(),
    "capitalize": lambda v: str(v).capitalize(),
    "trim": lambda v: str(v).strip(),
    "escape": escape,
    "e": escape,
    "safe": safe,
    "default": default,
    "d": default,
    "join": join,
    "length": length,
    "count": length,
    "first": first,
    "last": last,
    "truncate": truncate,
    "string": str,
    "int": lambda v: int(v),
}
