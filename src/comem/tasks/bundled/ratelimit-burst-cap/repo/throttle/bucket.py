"""Token bucket: a burst of up to `capacity`, refilled at `refill_rate` tokens per second."""

from .clock import MonotonicClock


class TokenBucket:
    def __init__(self, capacity, refill_rate, clock=None, initial=None):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        if refill_rate < 0:
            raise ValueError("refill_rate must not be negative")
        self.capacity = float(capacity)
        self.refill_rate = float(refill_rate)
        self.clock = clock or MonotonicClock()
        self._tokens = self.capacity if initial is None else float(initial)
        self._updated = self.clock.now()

    def __repr__(self):
        return f"TokenBucket(capacity={self.capacity:g}, refill_rate={self.refill_rate:g}, tokens={self.tokens:.2f})"

    def _refill(self):
        now = self.clock.now()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens) + elapsed * self.refill_rate
        self._updated = now

    @property
    def tokens(self):
        """Tokens available right now."""
        self._refill()
        return self._tokens

    def try_acquire(self, cost=1.0):
        """Take `cost` tokens if available. Returns True on success, False otherwise."""
        if cost > self.capacity:
            raise ValueError(f"cost {cost} exceeds bucket capacity {self.capacity:g}")
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def wait_time(self, cost=1.0):
        """Seconds until `cost` tokens will be available (0.0 if they are now)."""
        self._refill()
        missing = cost - self._tokens
        if missing <= 0:
            return 0.0
        if self.refill_rate == 0:
            return float("inf")
        return missing / self.refill_rate

    def reset(self):
        self._tokens = self.capacity
        self._updated = self.clock.now()
