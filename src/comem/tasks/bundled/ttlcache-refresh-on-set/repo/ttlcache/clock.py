import time


class SystemClock:
    def now(self):
        return time.monotonic()


class FakeClock:
    """A clock for tests: starts at `start` and only moves with advance()."""

    def __init__(self, start=1000.0):
        self.time = float(start)

    def now(self):
        return self.time

    def advance(self, seconds):
        self.time += seconds
