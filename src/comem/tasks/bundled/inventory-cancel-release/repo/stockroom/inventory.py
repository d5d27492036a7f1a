"""Per-SKU stock levels and reservations."""

from .errors import InsufficientStock, InventoryError
from .events import EventLog


def _check_qty(qty):
    if not isinstance(qty, int) or qty <= 0:
        raise InventoryError(f"quantity must be a positive int, got {qty!r}")


class Inventory:
    def __init__(self, log=None):
        self.log = log if log is not None else EventLog()
        self._on_hand = {}
        self._reserved = {}

    def skus(self):
        return sorted(set(self._on_hand) | set(self._reserved))

    def on_hand(self, sku):
        return self._on_hand.get(sku, 0)

    def reserved(self, sku):
        return self._reserved.get(sku, 0)

    def available(self, sku):
        """Units that can still be promised: on hand minus reserved."""
        return self.on_hand(sku) - self.reserved(sku)

    def receive(self, sku, qty, ref=""):
        _check_qty(qty)
        self._on_hand[sku] = self.on_hand(sku) + qty
        self.log.record("receive", sku, qty, ref)

    def adjust(self, sku, counted, ref="stocktake"):
        """Set on-hand to a counted value (after a stocktake). Reservations are kept."""
        if counted < 0:
            raise InventoryError("counted quantity cannot be negative")
        delta = counted - self.on_hand(sku)
        self._on_hand[sku] = counted
        self.log.record("adjust", sku, delta, ref)

    def reserve(self, sku, qty, ref=""):
        _check_qty(qty)
        if qty > self.available(sku):
            raise InsufficientStock(sku, qty, self.available(sku))
        self._reserved[sku] = self.reserved(sku) + qty
        self.log.record("reserve", sku, qty, ref)

    def release(self, sku, qty, ref=""):
        """Give back reserved units (e.g. an order was cancelled)."""
        _check_qty(qty)
        if qty > self.reserved(sku):
            raise InventoryError(f"{sku}: cannot release {qty}, only {self.reserved(sku)} reserved")
        self._reserved[sku] = self.reserved(sku) - qty
        self.log.record("release", sku, qty, ref)

    def ship(self, sku, qty, ref=""):
        """Reserved units leave the warehouse: both on-hand and reserved go down."""
        _check_qty(qty)
        if qty > self.reserved(sku):
            raise InventoryError(f"{sku}: cannot ship {qty}, only {self.reserved(sku)} reserved")
        self._reserved[sku] = self.reserved(sku) - qty
        self._on_hand[sku] = self.on_hand(sku) - qty
        self.log.record("ship", sku, qty, ref)
