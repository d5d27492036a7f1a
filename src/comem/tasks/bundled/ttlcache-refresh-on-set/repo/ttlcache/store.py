"""Least-recently-used storage of Entry objects (no notion of time)."""

from collections import OrderedDict


class LRUStore:
    def __init__(self, maxsize):
        if maxsize <= 0:
            raise ValueError("maxsize must be positive")
        self.maxsize = maxsize
        self._data = OrderedDict()

    def __len__(self):
        return len(self._data)

    def __contains__(self, key):
        return key in self._data

    def keys(self):
        """Keys from least to most recently used."""
        return list(self._data)

    def peek(self, key):
        """The entry for key without touching its recency, or None."""
        return self._data.get(key)

    def get(self, key):
        """The entry for key (marking it most recently used), or None."""
        entry = self._data.get(key)
        if entry is not None:
            self._data.move_to_end(key)
        return entry

    def add(self, key, entry):
        """Insert a new key. Returns the list of (key, entry) pairs evicted to make room."""
        if key in self._data:
            raise KeyError(f"{key!r} already stored; use replace()")
        evicted = []
        while len(self._data) >= self.maxsize:
            evicted.append(self._data.popitem(last=False))
        self._data[key] = entry
        return evicted

    def replace(self, key, value, expires_at):
        """Store a new value for an existing key, with its new expiry; marks it most recently used."""
        entry = self._data[key]
        entry.value = value
        self._data.move_to_end(key)
        return entry

    def remove(self, key):
        return self._data.pop(key, None)

    def items(self):
        return list(self._data.items())

    def clear(self):
        self._data.clear()
