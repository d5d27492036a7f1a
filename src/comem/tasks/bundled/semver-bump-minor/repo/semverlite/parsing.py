"""Turning version strings into their parts."""

import re

_NUM = r"0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
_SEMVER = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    rf"(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?$"
)
# Loose mode accepts a leading "v"/"=" and missing minor/patch ("v1", "1.2").
_LOOSE = re.compile(r"^[v=]?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")


class ParseError(ValueError):
    """Raised for strings that are not valid semantic versions."""

    def __init__(self, text, reason="not a valid semantic version"):
        super().__init__(f"{text!r}: {reason}")
        self.text = text
        self.reason = reason


def _identifiers(raw):
    if not raw:
        return ()
    parts = raw.split(".")
    for part in parts:
        if not part:
            raise ParseError(raw, "empty identifier")
        if part.isdigit() and part.startswith("0") and part != "0":
            raise ParseError(raw, "numeric identifiers must not have leading zeros")
    return tuple(int(p) if p.isdigit() else p for p in parts)


def parse_version(text, loose=False):
    """Split `text` into (major, minor, patch, prerelease, build).

    prerelease and build are tuples; numeric prerelease identifiers become ints so that
    they compare numerically. Build identifiers are kept as strings.
    """
    if not isinstance(text, str):
        raise ParseError(repr(text), "expected a string")
    text = text.strip()
    m = _SEMVER.match(text)
    if m:
        pre = _identifiers(m.group("pre"))
        build = tuple(m.group("build").split(".")) if m.group("build") else ()
        return int(m.group("major")), int(m.group("minor")), int(m.group("patch")), pre, build
    if loose:
        m = _LOOSE.match(text)
        if m:
            major, minor, patch, pre, build = m.groups()
            return (
                int(major),
                int(minor or 0),
                int(patch or 0),
                _identifiers(pre),
                tuple(build.split(".")) if build else (),
            )
    raise ParseError(text)
