import pytest

from throttle import ManualClock, RateLimitExceeded, rate_limited


def test_decorator_raises_when_exhausted():
    clock = ManualClock()

    @rate_limited(burst=2, per_second=1, clock=clock)
    def ping():
        return "pong"

    assert ping() == "pong"
    assert ping() == "pong"
    with pytest.raises(RateLimitExceeded) as info:
        ping()
    assert info.value.retry_after == pytest.approx(1.0)
    clock.advance(1)
    assert ping() == "pong"
