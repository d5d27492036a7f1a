import pytest

from csvreport import Column, Report

ROWS = [
    {"region": "North", "product": "Widget", "units": 10, "revenue": 1250.5},
    {"region": "North", "product": "Gadget", "units": 3, "revenue": 89.99},
    {"region": "South", "product": "Widget", "units": 7, "revenue": 875.35},
]


@pytest.fixture
def columns():
    return [
        Column("Region", "region"),
        Column("Product", "product"),
        Column("Units", "units", kind="int"),
        Column("Revenue", "revenue", kind="money"),
    ]


@pytest.fixture
def report(columns):
    return Report("Sales", columns, [dict(r) for r in ROWS], group_by="region")
