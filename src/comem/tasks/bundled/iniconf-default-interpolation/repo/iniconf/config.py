"""The Config object: typed access to a parsed INI file."""

from pathlib import Path

from .errors import ConfigError, NoOptionError, NoSectionError
from .interpolation import Interpolator
from .parser import DEFAULT_SECTION, ParsedConfig, parse

_MISSING = object()
_BOOLEANS = {
    "1": True, "yes": True, "true": True, "on": True,
    "0": False, "no": False, "false": False, "off": False,
}


class Config:
    def __init__(self, parsed=None):
        self._parsed = parsed or ParsedConfig()
        self._interpolator = Interpolator(self._parsed)

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_string(cls, text, source="<string>"):
        return cls(parse(text, source))

    @classmethod
    def from_file(cls, path):
        path = Path(path)
        return cls(parse(path.read_text(encoding="utf-8"), str(path)))

    @classmethod
    def from_files(cls, *paths):
        """Later files override earlier ones key by key; missing files are skipped."""
        parsed = ParsedConfig()
        for path in map(Path, paths):
            if path.is_file():
                parsed.merge(parse(path.read_text(encoding="utf-8"), str(path)))
        return cls(parsed)

    # -- structure --------------------------------------------------------------------

    def sections(self):
        return list(self._parsed.sections)

    def has_section(self, section):
        return section in self._parsed.sections

    def has_option(self, section, key):
        key = key.lower()
        return key in self._parsed.sections.get(section, {}) or key in self._parsed.defaults

    def options(self, section):
        if section != DEFAULT_SECTION and section not in self._parsed.sections:
            raise NoSectionError(section)
        keys = dict.fromkeys(self._parsed.defaults)
        keys.update(dict.fromkeys(self._parsed.sections.get(section, {})))
        return list(keys)

    # -- values -----------------------------------------------------------------------

    def _raw(self, section, key):
        if section == DEFAULT_SECTION:
            values = {}
        elif section in self._parsed.sections:
            values = self._parsed.sections[section]
        else:
            raise NoSectionError(section)
        if key in values:
            return values[key]
        if key in self._parsed.defaults:
            return self._parsed.defaults[key]
        raise NoOptionError(section, key)

    def get(self, section, key, fallback=_MISSING, raw=False):
        key = key.lower()
        try:
            value = self._raw(section, key)
        except (NoSectionError, NoOptionError):
            if fallback is _MISSING:
                raise
            return fallback
        if raw:
            return value
        return self._interpolator.resolve(section, key, value)

    def _typed(self, convert, type_name, section, key, fallback):
        value = self.get(section, key, fallback=_MISSING if fallback is _MISSING else None)
        if value is None and fallback is not _MISSING:
            return fallback
        try:
            return convert(value)
        except (TypeError, ValueError):
            raise ConfigError(f"[{section}] {key}: {value!r} is not a valid {type_name}") from None

    def getint(self, section, key, fallback=_MISSING):
        return self._typed(int, "integer", section, key, fallback)

    def getfloat(self, section, key, fallback=_MISSING):
        return self._typed(float, "number", section, key, fallback)

    def getboolean(self, section, key, fallback=_MISSING):
        def to_bool(value):
            return _BOOLEANS[value.strip().lower()] if value.strip().lower() in _BOOLEANS else int("x")

        return self._typed(to_bool, "boolean", section, key, fallback)

    def getlist(self, section, key, fallback=_MISSING, separator=","):
        """Split on the separator and on newlines; empty items are dropped."""
        value = self.get(section, key, fallback=_MISSING if fallback is _MISSING else None)
        if value is None and fallback is not _MISSING:
            return fallback
        items = []
        for line in value.splitlines():
            items.extend(part.strip() for part in line.split(separator))
        return [item for item in items if item]

    def items(self, section):
        return [(key, self.get(section, key)) for key in self.options(section)]

    def as_dict(self):
        return {name: dict(self.items(name)) for name in self.sections()}
