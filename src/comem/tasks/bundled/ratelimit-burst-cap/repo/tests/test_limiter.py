from throttle import ManualClock, RateLimiter, SlidingWindowLimiter


def test_keys_are_independent():
    clock = ManualClock()
    limiter = RateLimiter(burst=2, per_second=1, clock=clock)
    assert limiter.allow("alice") and limiter.allow("alice")
    assert not limiter.allow("alice")
    assert limiter.allow("bob")


def test_retry_after():
    clock = ManualClock()
    limiter = RateLimiter(burst=1, per_second=0.5, clock=clock)
    limiter.allow("k")
    assert limiter.retry_after("k") == 2.0


def test_cleanup_drops_idle_keys():
    clock = ManualClock()
    limiter = RateLimiter(burst=1, per_second=1, clock=clock, idle_ttl=10)
    limiter.allow("a")
    clock.advance(5)
    limiter.allow("b")
    clock.advance(6)
    assert limiter.cleanup() == 1
    assert len(limiter) == 1


def test_sliding_window():
    clock = ManualClock()
    window = SlidingWindowLimiter(limit=2, window=10, clock=clock)
    assert window.try_acquire() and window.try_acquire()
    assert not window.try_acquire()
    clock.advance(10)
    assert window.remaining() == 2
