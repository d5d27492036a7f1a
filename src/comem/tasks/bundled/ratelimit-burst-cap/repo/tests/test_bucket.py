import pytest

from throttle import ManualClock, TokenBucket


def test_burst_then_refuse():
    clock = ManualClock()
    bucket = TokenBucket(3, 1, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_refills_over_time():
    clock = ManualClock()
    bucket = TokenBucket(3, 2, clock=clock)
    for _ in range(3):
        bucket.try_acquire()
    clock.advance(0.5)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


def test_wait_time():
    clock = ManualClock()
    bucket = TokenBucket(2, 4, clock=clock, initial=0)
    assert bucket.wait_time() == pytest.approx(0.25)
    clock.advance(0.25)
    assert bucket.wait_time() == 0.0


def test_cost_larger_than_capacity_rejected():
    with pytest.raises(ValueError):
        TokenBucket(2, 1, clock=ManualClock()).try_acquire(3)


def test_zero_rate_never_refills():
    clock = ManualClock()
    bucket = TokenBucket(1, 0, clock=clock)
    assert bucket.try_acquire()
    clock.advance(100)
    assert bucket.wait_time() == float("inf")
