"""An LRU cache with per-entry time-to-live."""

from .cache import TTLCache
from .clock import FakeClock, SystemClock
from .decorators import cached, make_key
from .stats import CacheStats

__all__ = ["CacheStats", "FakeClock", "SystemClock", "TTLCache", "cached", "make_key"]
