"""One way to show a table of figures: a Rich table for the terminal and the same cells as Markdown."""

from __future__ import annotations

from rich.table import Table


def rich_table(title: str, headers: list[str], rows: list[list[str]], caption: str = "") -> Table:
    table = Table(title=title, caption=caption or None)
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown_table(headers: list[str], rows: list[list[str]], caption: str = "") -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + (f"\n\n{caption}\n" if caption else "\n")
