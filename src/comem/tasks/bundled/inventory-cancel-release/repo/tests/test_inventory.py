import pytest

from stockroom import InsufficientStock, Inventory, InventoryError


def test_receive_reserve_ship():
    inv = Inventory()
    inv.receive("A", 10)
    inv.reserve("A", 4)
    assert (inv.on_hand("A"), inv.reserved("A"), inv.available("A")) == (10, 4, 6)
    inv.ship("A", 3)
    assert (inv.on_hand("A"), inv.reserved("A"), inv.available("A")) == (7, 1, 6)


def test_cannot_over_reserve():
    inv = Inventory()
    inv.receive("A", 2)
    with pytest.raises(InsufficientStock) as info:
        inv.reserve("A", 3)
    assert info.value.available == 2


def test_release_more_than_reserved_is_an_error():
    inv = Inventory()
    inv.receive("A", 5)
    inv.reserve("A", 2)
    with pytest.raises(InventoryError):
        inv.release("A", 3)


def test_bad_quantities():
    inv = Inventory()
    for qty in (0, -1, 1.5):
        with pytest.raises(InventoryError):
            inv.receive("A", qty)


def test_adjust_keeps_reservations():
    inv = Inventory()
    inv.receive("A", 10)
    inv.reserve("A", 3)
    inv.adjust("A", 8)
    assert inv.available("A") == 5
    assert [e.qty for e in inv.log.for_sku("A")] == [10, 3, -2]
