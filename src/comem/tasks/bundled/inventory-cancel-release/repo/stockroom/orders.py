"""Order lifecycle: place -> ship (possibly partially, several times) -> done, or cancel."""

from .errors import InsufficientStock, OrderError
from .models import Order, OrderLine, OrderStatus


class OrderService:
    def __init__(self, inventory):
        self.inventory = inventory
        self._orders = {}

    def get(self, order_id):
        try:
            return self._orders[order_id]
        except KeyError:
            raise OrderError(f"unknown order {order_id!r}") from None

    def place(self, order_id, quantities):
        """Create an order and reserve stock for every line. All-or-nothing."""
        if order_id in self._orders:
            raise OrderError(f"order {order_id!r} already exists")
        if not quantities:
            raise OrderError("an order needs at least one line")
        reserved = []
        try:
            for sku, qty in quantities.items():
                self.inventory.reserve(sku, qty, ref=order_id)
                reserved.append((sku, qty))
        except InsufficientStock:
            for sku, qty in reserved:
                self.inventory.release(sku, qty, ref=order_id)
            raise
        order = Order(order_id, [OrderLine(sku, qty) for sku, qty in quantities.items()])
        self._orders[order_id] = order
        return order

    def ship(self, order_id, sku, qty):
        order = self.get(order_id)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.SHIPPED):
            raise OrderError(f"order {order_id} is {order.status.value}")
        line = order.line(sku)
        if qty > line.outstanding:
            raise OrderError(f"order {order_id}: only {line.outstanding} x {sku} left to ship")
        self.inventory.ship(sku, qty, ref=order_id)
        line.shipped += qty
        order.refresh_status()
        return order

    def ship_all(self, order_id):
        order = self.get(order_id)
        for line in order.lines:
            if line.outstanding:
                self.ship(order_id, line.sku, line.outstanding)
        return order

    def cancel(self, order_id):
        """Cancel an order that has not been fully shipped; its reservations are released."""
        order = self.get(order_id)
        if order.status is OrderStatus.CANCELLED:
            raise OrderError(f"order {order_id} is already cancelled")
        if order.status is OrderStatus.SHIPPED:
            raise OrderError(f"order {order_id} has been shipped and cannot be cancelled")
        for line in order.lines:
            if line.qty:
                self.inventory.release(line.sku, line.qty, ref=order_id)
        order.status = OrderStatus.CANCELLED
        return order

    def open_orders(self):
        return [o for o in self._orders.values() if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_SHIPPED)]

    def backlog(self, sku):
        """Units of `sku` ordered in open orders and not yet shipped."""
        total = 0
        for order in self.open_orders():
            for line in order.lines:
                if line.sku == sku:
                    total += line.outstanding
        return total
