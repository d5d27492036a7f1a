from csvreport import Column, Report, render_csv, render_text
from csvreport.formatting import format_cell


def test_csv_with_subtotals(report):
    assert render_csv(report).splitlines() == [
        "Region,Product,Units,Revenue",
        "North,Widget,10,\"1,250.50\"",
        "North,Gadget,3,89.99",
        "North total,,13,\"1,340.49\"",
        "South,Widget,7,875.35",
        "South total,,7,875.35",
        "Total,,20,\"2,215.84\"",
    ]


def test_csv_without_grouping(columns):
    report = Report("Flat", columns, [{"region": "N", "product": "P", "units": 1, "revenue": 2}], totals=False)
    assert render_csv(report, include_title=True).splitlines() == ["Flat", "Region,Product,Units,Revenue", "N,P,1,2.00"]


def test_text_output_aligned(report):
    text = render_text(report)
    lines = text.splitlines()
    assert lines[0] == "Sales"
    assert lines[2].startswith("Region")
    assert "North total" in text and lines[-1].startswith("Total")
    assert lines[-1].endswith("2,215.84")


def test_format_cells():
    assert format_cell(0.1234, Column("p", "p", kind="percent", precision=1)) == "12.3%"
    assert format_cell(-1234.5, Column("m", "m", kind="money")) == "-1,234.50"
    assert format_cell(None, Column("t", "t")) == ""
    assert format_cell(2.675, Column("f", "f", kind="float")) == "2.68"
