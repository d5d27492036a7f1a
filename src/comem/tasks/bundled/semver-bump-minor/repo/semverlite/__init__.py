"""semverlite: semantic versions (https://semver.org) without dependencies."""

from .compare import compare, max_version, sort_versions
from .parsing import ParseError, parse_version
from .ranges import Range
from .version import Version

__all__ = [
    "ParseError",
    "Range",
    "Version",
    "compare",
    "max_version",
    "parse_version",
    "sort_versions",
]
