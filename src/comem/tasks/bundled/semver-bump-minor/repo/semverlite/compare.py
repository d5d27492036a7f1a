"""Precedence rules from section 11 of the semver specification."""


def _cmp(a, b):
    return (a > b) - (a < b)


def _compare_identifier(a, b):
    # Numeric identifiers always have lower precedence than alphanumeric ones.
    a_num, b_num = isinstance(a, int), isinstance(b, int)
    if a_num and b_num:
        return _cmp(a, b)
    if a_num:
        return -1
    if b_num:
        return 1
    return _cmp(a, b)


def compare_prerelease(a, b):
    """Compare two prerelease tuples. An empty tuple (a release) ranks highest."""
    if a == b:
        return 0
    if not a:
        return 1
    if not b:
        return -1
    for x, y in zip(a, b):
        c = _compare_identifier(x, y)
        if c:
            return c
    return _cmp(len(a), len(b))


def compare(a, b):
    """-1, 0 or 1 as version a is lower than, equal to or higher than b.

    Accepts Version objects or strings. Build metadata is ignored.
    """
    from .version import Version

    a = a if isinstance(a, Version) else Version.parse(a)
    b = b if isinstance(b, Version) else Version.parse(b)
    core = _cmp((a.major, a.minor, a.patch), (b.major, b.minor, b.patch))
    if core:
        return core
    return compare_prerelease(a.prerelease, b.prerelease)


def sort_versions(versions, reverse=False):
    """Sort version strings or objects by precedence (stable for equal precedence)."""
    from functools import cmp_to_key

    return sorted(versions, key=cmp_to_key(compare), reverse=reverse)


def max_version(versions):
    """The highest version in `versions`, or None when it is empty."""
    best = None
    for v in versions:
        if best is None or compare(v, best) > 0:
            best = v
    return best
