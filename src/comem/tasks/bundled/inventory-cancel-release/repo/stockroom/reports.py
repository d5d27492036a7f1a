"""Read-only views over an Inventory."""


def stock_summary(inventory):
    """{sku: (on_hand, reserved, available)} for every SKU."""
    return {
        sku: (inventory.on_hand(sku), inventory.reserved(sku), inventory.available(sku))
        for sku in inventory.skus()
    }


def low_stock_report(inventory, thresholds, default_threshold=0):
    """SKUs whose available quantity is at or below their reorder threshold, lowest first."""
    rows = []
    for sku in inventory.skus():
        threshold = thresholds.get(sku, default_threshold)
        available = inventory.available(sku)
        if available <= threshold:
            rows.append((sku, available, threshold))
    return sorted(rows, key=lambda row: (row[1] - row[2], row[0]))
