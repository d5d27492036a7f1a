"""TTLCache: LRU eviction plus time-based expiry."""

from .clock import SystemClock
from .entry import Entry
from .stats import CacheStats
from .store import LRUStore

_MISSING = object()


class TTLCache:
    def __init__(self, maxsize=128, ttl=60.0, clock=None):
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive (or None for no expiry)")
        self.ttl = ttl
        self.clock = clock or SystemClock()
        self.stats = CacheStats()
        self._store = LRUStore(maxsize)

    def __repr__(self):
        return f"TTLCache(maxsize={self._store.maxsize}, ttl={self.ttl}, size={len(self._store)})"

    @property
    def maxsize(self):
        return self._store.maxsize

    def _expiry(self, ttl):
        ttl = self.ttl if ttl is None else ttl
        return float("inf") if ttl is None else self.clock.now() + ttl

    def set(self, key, value, ttl=None):
        """Store value under key; it expires `ttl` seconds from now (default: the cache's ttl)."""
        expires_at = self._expiry(ttl)
        if key in self._store:
            self._store.replace(key, value, expires_at)
            return
        evicted = self._store.add(key, Entry(value, expires_at))
        self.stats.evictions += len(evicted)

    __setitem__ = set

    def get(self, key, default=None):
        entry = self._store.get(key)
        if entry is None:
            self.stats.misses += 1
            return default
        if entry.expired(self.clock.now()):
            self._store.remove(key)
            self.stats.expirations += 1
            self.stats.misses += 1
            return default
        self.stats.hits += 1
        return entry.value

    def __getitem__(self, key):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key):
        entry = self._store.peek(key)
        return entry is not None and not entry.expired(self.clock.now())

    def __len__(self):
        return len(self._store)

    def delete(self, key):
        return self._store.remove(key) is not None

    def ttl_left(self, key):
        """Seconds until key expires, or None if it is not cached."""
        entry = self._store.peek(key)
        if entry is None or entry.expired(self.clock.now()):
            return None
        return entry.ttl_left(self.clock.now())

    def purge_expired(self):
        """Drop every expired entry now. Returns how many were dropped."""
        now = self.clock.now()
        expired = [key for key, entry in self._store.items() if entry.expired(now)]
        for key in expired:
            self._store.remove(key)
        self.stats.expirations += len(expired)
        return len(expired)

    def get_or_set(self, key, factory, ttl=None):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = factory()
            self.set(key, value, ttl=ttl)
        return value

    def clear(self):
        self._store.clear()
