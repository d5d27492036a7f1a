"""Exporters: CSV and aligned plain text."""

from .formatting import format_row
from .grouping import layout
from .writer import CsvWriter


def render_csv(report, delimiter=",", include_title=False):
    """The report as CSV text. Numbers are formatted as in the text output."""
    writer = CsvWriter(delimiter=delimiter)
    if include_title:
        writer.writerow([report.title])
    writer.writerow(report.header())
    for _kind, row in layout(report):
        writer.writerow(format_row(row, report.columns))
    return writer.getvalue()


def render_text(report):
    """The report as an aligned plain-text table with a title and separator lines."""
    lines = [format_row(row, report.columns) for _kind, row in layout(report)]
    kinds = [kind for kind, _row in layout(report)]
    header = report.header()
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) if lines else len(header[i])
              for i in range(len(header))]

    def fmt(cells):
        parts = []
        for cell, width, column in zip(cells, widths, report.columns):
            parts.append(cell.rjust(width) if column.align == "right" else cell.ljust(width))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [report.title, "", fmt(header), rule]
    for kind, cells in zip(kinds, lines):
        if kind == "total":
            out.append(rule)
        out.append(fmt(cells))
        if kind == "subtotal":
            out.append("")
    return "\n".join(out) + "\n"
