"""Orders and order lines."""

from dataclasses import dataclass, field
from enum import Enum


class OrderStatus(str, Enum):
    OPEN = "open"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass
class OrderLine:
    sku: str
    qty: int
    shipped: int = 0

    @property
    def outstanding(self):
        """Units ordered but not shipped yet."""
        return self.qty - self.shipped

    @property
    def complete(self):
        return self.shipped >= self.qty


@dataclass
class Order:
    order_id: str
    lines: list = field(default_factory=list)
    status: OrderStatus = OrderStatus.OPEN

    def line(self, sku):
        for line in self.lines:
            if line.sku == sku:
                return line
        raise KeyError(sku)

    @property
    def units_ordered(self):
        return sum(line.qty for line in self.lines)

    @property
    def units_shipped(self):
        return sum(line.shipped for line in self.lines)

    def refresh_status(self):
        if self.status is OrderStatus.CANCELLED:
            return
        if all(line.complete for line in self.lines):
            self.status = OrderStatus.SHIPPED
        elif any(line.shipped for line in self.lines):
            self.status = OrderStatus.PARTIALLY_SHIPPED
        else:
            self.status = OrderStatus.OPEN
