from ttlcache import FakeClock, TTLCache, cached, make_key


def test_cached_calls_once():
    calls = []

    @cached(TTLCache(maxsize=10, ttl=60, clock=FakeClock()))
    def square(x):
        calls.append(x)
        return x * x

    assert square(3) == 9 and square(3) == 9
    assert calls == [3]


def test_cached_recomputes_after_expiry():
    clock = FakeClock()
    calls = []

    @cached(TTLCache(maxsize=10, ttl=60, clock=clock))
    def now_value(x):
        calls.append(x)
        return len(calls)

    assert now_value(1) == 1
    clock.advance(61)
    assert now_value(1) == 2


def test_make_key_kwargs_order():
    assert make_key((1,), {"a": 1, "b": 2}) == make_key((1,), {"b": 2, "a": 1})
    assert make_key((1, 2), {}) != make_key((1,), {"b": 2})


def test_unhashable_arguments_bypass_cache():
    @cached(TTLCache(maxsize=10, ttl=60, clock=FakeClock()))
    def total(values):
        return sum(values)

    assert total([1, 2]) == 3
    assert len(total.cache) == 0
