from stockroom import Inventory, low_stock_report, stock_summary


def test_stock_summary():
    inv = Inventory()
    inv.receive("A", 3)
    inv.reserve("A", 1)
    assert stock_summary(inv) == {"A": (3, 1, 2)}


def test_low_stock_report():
    inv = Inventory()
    inv.receive("A", 3)
    inv.receive("B", 10)
    inv.receive("C", 1)
    inv.reserve("B", 9)
    assert low_stock_report(inv, {"A": 5}, default_threshold=1) == [("A", 3, 5), ("B", 1, 1), ("C", 1, 1)]
