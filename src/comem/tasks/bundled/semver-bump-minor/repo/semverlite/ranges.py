"""npm-style version ranges: ^1.2.3, ~1.2, >=1.0.0 <2.0.0, 1.x, 1.2.3 - 2.0.0, ||."""

import re

from .compare import compare
from .parsing import ParseError
from .version import Version

_COMPARATOR = re.compile(r"^(>=|<=|>|<|=)?\s*v?(.+)$")
_OPS = {
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    "=": lambda c: c == 0,
}


def _partial(text):
    """Parse '1', '1.2', '1.2.3', '1.x', '1.2.*' -> (version, number of given parts)."""
    parts = text.split("-", 1)[0].split(".")
    given = []
    for p in parts:
        if p in ("x", "X", "*"):
            break
        if not p.isdigit():
            raise ParseError(text, "bad version in range")
        given.append(int(p))
    if len(given) == 3:
        return Version.parse(text, loose=True), 3
    padded = given + [0] * (3 - len(given))
    return Version(*padded), len(given)


def _expand(token):
    """One range token -> list of (op, Version) comparators."""
    if token in ("*", "x", "X", ""):
        return [(">=", Version(0, 0, 0))]
    if token[0] == "^":
        low, n = _partial(token[1:])
        if low.major > 0 or n == 1:
            high = Version(low.major + 1, 0, 0)
        elif low.minor > 0 or n == 2:
            high = Version(0, low.minor + 1, 0)
        else:
            high = Version(0, 0, low.patch + 1)
        return [(">=", low), ("<", high)]
    if token[0] == "~":
        low, n = _partial(token[1:].lstrip(">"))
        high = Version(low.major + 1, 0, 0) if n == 1 else Version(low.major, low.minor + 1, 0)
        return [(">=", low), ("<", high)]
    m = _COMPARATOR.match(token)
    if not m:
        raise ParseError(token, "bad comparator")
    op, rest = m.group(1) or "=", m.group(2)
    version, n = _partial(rest)
    if n == 3 or op in (">", "<="):
        if n < 3 and op == ">":
            # >1.2 means >=1.3.0
            return [(">=", Version(version.major, version.minor + 1, 0) if n == 2 else Version(version.major + 1, 0, 0))]
        if n < 3 and op == "<=":
            high = Version(version.major, version.minor + 1, 0) if n == 2 else Version(version.major + 1, 0, 0)
            return [("<", high)]
        return [(op, version)]
    if op == "=":
        high = Version(version.major + 1, 0, 0) if n == 1 else Version(version.major, version.minor + 1, 0)
        if n == 0:
            return [(">=", Version(0, 0, 0))]
        return [(">=", version), ("<", high)]
    return [(op, version)]


class Range:
    """A set of comparator groups joined by `||`; a version satisfies the range when it
    satisfies every comparator of at least one group."""

    def __init__(self, text):
        self.text = text.strip()
        self.groups = []
        for alternative in self.text.split("||"):
            alternative = alternative.strip()
            hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", alternative)
            if hyphen:
                low, _ = _partial(hyphen.group(1))
                self.groups.append([(">=", low)] + _expand("<=" + hyphen.group(2)))
                continue
            comparators = []
            for token in re.sub(r"(>=|<=|>|<|=)\s+", r"\1", alternative).split():
                comparators.extend(_expand(token))
            self.groups.append(comparators or _expand("*"))

    def __repr__(self):
        return f"Range({self.text!r})"

    def satisfies(self, version):
        v = version if isinstance(version, Version) else Version.parse(version, loose=True)
        for group in self.groups:
            if all(_OPS[op](compare(v, bound)) for op, bound in group):
                # Prereleases only match when a comparator in the group names the same core version.
                if v.prerelease and not any(
                    b.prerelease and (b.major, b.minor, b.patch) == (v.major, v.minor, v.patch) for _, b in group
                ):
                    continue
                return True
        return False

    __contains__ = satisfies

    def filter(self, versions):
        return [v for v in versions if self.satisfies(v)]

    def max_satisfying(self, versions):
        best = None
        for v in versions:
            if self.satisfies(v) and (best is None or compare(v, best) > 0):
                best = v
        return best
