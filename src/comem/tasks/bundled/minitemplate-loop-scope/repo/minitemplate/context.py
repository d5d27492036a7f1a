"""Variable scopes used while rendering."""

from contextlib import contextmanager


class Undefined:
    """What a missing variable evaluates to: renders as '', is falsy, and absorbs attribute access."""

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return ""

    def __bool__(self):
        return False

    def __iter__(self):
        return iter(())

    def __eq__(self, other):
        return isinstance(other, Undefined)

    def __hash__(self):
        return 0

    def __repr__(self):
        return f"Undefined({self.name!r})"


class Context:
    """A stack of scopes. The bottom scope holds the render() arguments; blocks such as
    `for` push a scope of their own so that names they bind disappear when they end."""

    def __init__(self, data=None, filters=None, autoescape=False):
        self._scopes = [dict(data or {})]
        self.filters = filters or {}
        self.autoescape = autoescape

    @property
    def depth(self):
        return len(self._scopes)

    def push(self, values=None):
        self._scopes.append(dict(values or {}))

    def pop(self):
        if len(self._scopes) == 1:
            raise RuntimeError("cannot pop the global scope")
        return self._scopes.pop()

    @contextmanager
    def scope(self, values=None):
        self.push(values)
        try:
            yield self
        finally:
            self.pop()

    def set(self, name, value):
        """Bind `name` in the current (innermost) scope."""
        self._scopes[0][name] = value

    def lookup(self, name):
        for scope in reversed(self._scopes):
            if name in scope:
                return scope[name]
        return Undefined(name)

    def resolve(self, dotted):
        """'user.address.city' -> attribute or key lookups, Undefined when anything is missing."""
        first, *rest = dotted.split(".")
        value = self.lookup(first)
        for part in rest:
            if isinstance(value, Undefined):
                return Undefined(dotted)
            if isinstance(value, dict):
                value = value.get(part, Undefined(dotted))
            elif isinstance(value, (list, tuple)) and part.isdigit():
                index = int(part)
                value = value[index] if index < len(value) else Undefined(dotted)
            else:
                value = getattr(value, part, Undefined(dotted))
        return value

    def __contains__(self, name):
        return not isinstance(self.lookup(name), Undefined)

    def flatten(self):
        merged = {}
        for scope in self._scopes:
            merged.update(scope)
        return merged
