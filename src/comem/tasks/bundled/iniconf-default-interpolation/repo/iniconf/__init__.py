"""iniconf: INI files with typed getters and ${...} interpolation."""

from .config import Config
from .errors import ConfigError, InterpolationError, NoOptionError, NoSectionError, ParseError
from .parser import DEFAULT_SECTION, parse

__all__ = [
    "DEFAULT_SECTION",
    "Config",
    "ConfigError",
    "InterpolationError",
    "NoOptionError",
    "NoSectionError",
    "ParseError",
    "parse",
]
