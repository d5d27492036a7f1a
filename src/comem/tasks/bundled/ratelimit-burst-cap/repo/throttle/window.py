"""Sliding-window log limiter: at most `limit` events in any `window` seconds."""

from collections import deque

from .clock import MonotonicClock


class SlidingWindowLimiter:
    def __init__(self, limit, window, clock=None):
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = int(limit)
        self.window = float(window)
        self.clock = clock or MonotonicClock()
        self._events = deque()

    def _expire(self, now):
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()

    def try_acquire(self):
        now = self.clock.now()
        self._expire(now)
        if len(self._events) < self.limit:
            self._events.append(now)
            return True
        return False

    def remaining(self):
        self._expire(self.clock.now())
        return self.limit - len(self._events)

    def wait_time(self):
        now = self.clock.now()
        self._expire(now)
        if len(self._events) < self.limit:
            return 0.0
        return self._events[0] + self.window - now
