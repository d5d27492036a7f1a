"""Grouping rows and computing subtotals."""

from decimal import Decimal


def group_rows(rows, key):
    """Group rows by `key`, keeping the order in which groups first appear."""
    groups = {}
    for row in rows:
        groups.setdefault(row.get(key), []).append(row)
    return list(groups.items())


def total_row(rows, columns, label_key, label):
    """A row holding the sum of every numeric column, and `label` in the label column."""
    total = {label_key: label}
    for column in columns:
        if not column.numeric or column.key == label_key:
            continue
        values = [row.get(column.key) for row in rows if row.get(column.key) not in (None, "")]
        if column.kind == "int":
            total[column.key] = sum(int(v) for v in values)
        else:
            total[column.key] = sum((Decimal(str(v)) for v in values), Decimal(0))
    return total


def layout(report):
    """The rows to print, in order, as (kind, row) pairs: kind is 'row', 'subtotal' or 'total'."""
    label_key = report.group_by or report.columns[0].key
    out = []
    if report.group_by is None:
        out.extend(("row", row) for row in report.rows)
    else:
        for value, rows in group_rows(report.rows, report.group_by):
            out.extend(("row", row) for row in rows)
            if report.totals:
                out.append(("subtotal", total_row(rows, report.columns, label_key, f"{value} total")))
    if report.totals and report.rows:
        out.append(("total", total_row(report.rows, report.columns, label_key, "Total")))
    return out
