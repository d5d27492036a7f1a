"""Exception hierarchy."""


class ConfigError(Exception):
    """Base class for all iniconf errors."""


class ParseError(ConfigError):
    def __init__(self, message, source="<string>", lineno=None):
        where = f"{source}:{lineno}" if lineno is not None else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.lineno = lineno


class NoSectionError(ConfigError, KeyError):
    def __init__(self, section):
        super().__init__(f"no section {section!r}")
        self.section = section

    def __str__(self):
        return self.args[0]


class NoOptionError(ConfigError, KeyError):
    def __init__(self, section, key):
        super().__init__(f"no option {key!r} in section {section!r}")
        self.section = section
        self.key = key

    def __str__(self):
        return self.args[0]


class InterpolationError(ConfigError):
    def __init__(self, section, key, message):
        super().__init__(f"[{section}] {key}: {message}")
        self.section = section
        self.key = key
