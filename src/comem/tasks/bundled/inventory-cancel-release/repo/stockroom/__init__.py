"""Warehouse stock, reservations and order fulfilment."""

from .errors import InsufficientStock, InventoryError, OrderError
from .events import EventLog
from .inventory import Inventory
from .models import Order, OrderLine, OrderStatus
from .orders import OrderService
from .reports import low_stock_report, stock_summary

__all__ = [
    "EventLog",
    "InsufficientStock",
    "Inventory",
    "InventoryError",
    "Order",
    "OrderError",
    "OrderLine",
    "OrderService",
    "OrderStatus",
    "low_stock_report",
    "stock_summary",
]
