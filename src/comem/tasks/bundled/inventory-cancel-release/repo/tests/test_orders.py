import pytest

from stockroom import InsufficientStock, Inventory, OrderError, OrderService, OrderStatus


@pytest.fixture
def setup():
    inv = Inventory()
    inv.receive("A", 10)
    inv.receive("B", 5)
    return inv, OrderService(inv)


def test_place_reserves(setup):
    inv, orders = setup
    orders.place("o1", {"A": 3, "B": 1})
    assert inv.available("A") == 7 and inv.available("B") == 4


def test_place_is_all_or_nothing(setup):
    inv, orders = setup
    with pytest.raises(InsufficientStock):
        orders.place("o1", {"A": 3, "B": 6})
    assert inv.reserved("A") == 0


def test_partial_then_full_shipment(setup):
    inv, orders = setup
    orders.place("o1", {"A": 4})
    assert orders.ship("o1", "A", 1).status is OrderStatus.PARTIALLY_SHIPPED
    assert orders.ship("o1", "A", 3).status is OrderStatus.SHIPPED
    assert inv.on_hand("A") == 6 and inv.reserved("A") == 0


def test_cannot_ship_more_than_ordered(setup):
    _, orders = setup
    orders.place("o1", {"A": 2})
    with pytest.raises(OrderError):
        orders.ship("o1", "A", 3)


def test_cancel_open_order(setup):
    inv, orders = setup
    orders.place("o1", {"A": 4, "B": 2})
    orders.cancel("o1")
    assert inv.available("A") == 10 and inv.available("B") == 5
    assert orders.get("o1").status is OrderStatus.CANCELLED


def test_cannot_cancel_twice_or_after_shipping(setup):
    _, orders = setup
    orders.place("o1", {"A": 1})
    orders.place("o2", {"A": 1})
    orders.cancel("o1")
    with pytest.raises(OrderError):
        orders.cancel("o1")
    orders.ship_all("o2")
    with pytest.raises(OrderError):
        orders.cancel("o2")


def test_backlog(setup):
    _, orders = setup
    orders.place("o1", {"A": 4})
    orders.place("o2", {"A": 2})
    orders.ship("o1", "A", 1)
    assert orders.backlog("A") == 5
