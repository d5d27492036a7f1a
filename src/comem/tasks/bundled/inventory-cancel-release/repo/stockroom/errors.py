class InventoryError(Exception):
    """Invalid stock operation."""


class InsufficientStock(InventoryError):
    def __init__(self, sku, requested, available):
        super().__init__(f"{sku}: requested {requested}, only {available} available")
        self.sku = sku
        self.requested = requested
        self.available = available


class OrderError(Exception):
    """Invalid order operation."""
