"""${key} / ${section:key} references inside values."""

import re

from .errors import InterpolationError

_REFERENCE = re.compile(r"\$(\$|\{([^}]*)\})")
MAX_DEPTH = 10


class Interpolator:
    """Expands references against a ParsedConfig."""

    def __init__(self, parsed):
        self.parsed = parsed

    def _scope(self, section):
        """All keys visible from `section`: its own keys and the [DEFAULT] ones."""
        scope = dict(self.parsed.sections.get(section, {}))
        scope.update(self.parsed.defaults)
        return scope

    def resolve(self, section, key, value, depth=0):
        if depth > MAX_DEPTH:
            raise InterpolationError(section, key, f"references nested deeper than {MAX_DEPTH} (a cycle?)")
        if "$" not in value:
            return value

        def substitute(match):
            if match.group(1) == "$":
                return "$"
            ref = match.group(2).strip()
            if not ref:
                raise InterpolationError(section, key, "empty reference ${}")
            if ":" in ref:
                target_section, _, target_key = ref.partition(":")
                target_section = target_section.strip()
                if target_section not in self.parsed.sections and target_section != "DEFAULT":
                    raise InterpolationError(section, key, f"unknown section in ${{{ref}}}")
            else:
                target_section, target_key = section, ref
            target_key = target_key.strip().lower()
            scope = self._scope(target_section)
            if target_key not in scope:
                raise InterpolationError(section, key, f"unknown key in ${{{ref}}}")
            return self.resolve(target_section, target_key, scope[target_key], depth + 1)

        return _REFERENCE.sub(substitute, value)
