"""Per-key rate limiting: one token bucket per user, IP address, API key, ..."""

from .bucket import TokenBucket
from .clock import MonotonicClock


class RateLimiter:
    """`RateLimiter(burst=10, per_second=2)`: each key may burst 10 requests and then
    sustain 2 per second. Buckets of idle keys are dropped by `cleanup()`."""

    def __init__(self, burst, per_second, clock=None, idle_ttl=600.0):
        self.burst = burst
        self.per_second = per_second
        self.clock = clock or MonotonicClock()
        self.idle_ttl = idle_ttl
        self._buckets = {}
        self._last_seen = {}

    def _bucket(self, key):
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.burst, self.per_second, clock=self.clock)
            self._buckets[key] = bucket
        self._last_seen[key] = self.clock.now()
        return bucket

    def allow(self, key, cost=1):
        return self._bucket(key).try_acquire(cost)

    def retry_after(self, key, cost=1):
        return self._bucket(key).wait_time(cost)

    def remaining(self, key):
        return int(self._bucket(key).tokens)

    def cleanup(self):
        """Forget keys that have been idle for longer than idle_ttl. Returns how many."""
        now = self.clock.now()
        stale = [k for k, seen in self._last_seen.items() if now - seen > self.idle_ttl]
        for key in stale:
            del self._buckets[key]
            del self._last_seen[key]
        return len(stale)

    def __len__(self):
        return len(self._buckets)
