"""Build the section -> {key: raw value} structure from lexed lines."""

from dataclasses import dataclass, field

from .errors import ParseError
from .lexer import LexError, lex

DEFAULT_SECTION = "DEFAULT"


@dataclass
class ParsedConfig:
    defaults: dict = field(default_factory=dict)
    sections: dict = field(default_factory=dict)  # name -> {key: raw value}, in file order
    source: str = "<string>"

    def merge(self, other):
        """Overlay `other` (a later file) on top of this one, key by key."""
        self.defaults.update(other.defaults)
        for name, values in other.sections.items():
            self.sections.setdefault(name, {}).update(values)
        return self


def parse(text, source="<string>"):
    parsed = ParsedConfig(source=source)
    current = None  # the dict receiving options
    current_name = None
    last_key = None
    seen_sections = set()
    try:
        for line in lex(text):
            if line.kind in ("blank", "comment"):
                continue
            if line.kind == "section":
                if line.name in seen_sections:
                    raise ParseError(f"duplicate section [{line.name}]", source, line.lineno)
                seen_sections.add(line.name)
                current_name = line.name
                if line.name == DEFAULT_SECTION:
                    current = parsed.defaults
                else:
                    current = parsed.sections.setdefault(line.name, {})
                last_key = None
            elif line.kind == "option":
                if current is None:
                    raise ParseError("option outside of any section", source, line.lineno)
                key = line.key.lower()
                if key in current:
                    raise ParseError(f"duplicate option {key!r} in [{current_name}]", source, line.lineno)
                current[key] = line.value
                last_key = key
            elif line.kind == "continuation":
                if last_key is None:
                    raise ParseError("continuation line without an option", source, line.lineno)
                previous = current[last_key]
                current[last_key] = f"{previous}\n{line.value}" if previous else line.value
    except LexError as exc:
        raise ParseError(str(exc), source, exc.lineno) from None
    return parsed
