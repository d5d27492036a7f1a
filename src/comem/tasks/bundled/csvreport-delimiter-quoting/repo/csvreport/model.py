"""Report definitions."""

from dataclasses import dataclass, field

KINDS = ("text", "int", "float", "money", "percent")
NUMERIC_KINDS = ("int", "float", "money")


@dataclass
class Column:
    title: str
    key: str
    kind: str = "text"
    precision: int = 2

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.title!r}: unknown kind {self.kind!r}; expected one of {KINDS}")

    @property
    def numeric(self):
        return self.kind in NUMERIC_KINDS

    @property
    def align(self):
        return "right" if self.kind != "text" else "left"


@dataclass
class Report:
    title: str
    columns: list
    rows: list = field(default_factory=list)
    group_by: str = None
    totals: bool = True

    def __post_init__(self):
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError("column keys must be unique")
        if self.group_by is not None and self.group_by not in keys:
            raise ValueError(f"group_by {self.group_by!r} is not a column key")

    def header(self):
        return [c.title for c in self.columns]
