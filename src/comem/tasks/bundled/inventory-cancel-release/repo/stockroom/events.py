"""An append-only log of stock movements, for auditing."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str  # receive | reserve | release | ship | adjust
    sku: str
    qty: int
    ref: str = ""


class EventLog:
    def __init__(self):
        self._events = []

    def record(self, kind, sku, qty, ref=""):
        event = Event(len(self._events) + 1, kind, sku, qty, ref)
        self._events.append(event)
        return event

    def __iter__(self):
        return iter(self._events)

    def __len__(self):
        return len(self._events)

    def for_sku(self, sku):
        return [e for e in self._events if e.sku == sku]

    def for_ref(self, ref):
        return [e for e in self._events if e.ref == ref]

    def net(self, sku, kind):
        return sum(e.qty for e in self._events if e.sku == sku and e.kind == kind)
