import pytest

from ttlcache import FakeClock, TTLCache


@pytest.fixture
def clock():
    return FakeClock()


def test_set_and_get(clock):
    cache = TTLCache(maxsize=4, ttl=10, clock=clock)
    cache.set("a", 1)
    assert cache.get("a") == 1
    assert cache["a"] == 1
    assert cache.get("missing", "dflt") == "dflt"


def test_expiry(clock):
    cache = TTLCache(maxsize=4, ttl=10, clock=clock)
    cache.set("a", 1)
    clock.advance(9.9)
    assert "a" in cache
    clock.advance(0.1)
    assert "a" not in cache
    assert cache.get("a") is None
    assert cache.stats.expirations == 1


def test_per_entry_ttl(clock):
    cache = TTLCache(maxsize=4, ttl=10, clock=clock)
    cache.set("short", 1, ttl=2)
    cache.set("long", 2)
    clock.advance(5)
    assert cache.get("short") is None and cache.get("long") == 2


def test_no_ttl_never_expires(clock):
    cache = TTLCache(maxsize=2, ttl=None, clock=clock)
    cache.set("a", 1)
    clock.advance(1e9)
    assert cache.get("a") == 1


def test_lru_eviction(clock):
    cache = TTLCache(maxsize=2, ttl=10, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.get("a")
    cache.set("c", 3)
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.stats.evictions == 1


def test_ttl_left_and_purge(clock):
    cache = TTLCache(maxsize=4, ttl=10, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2, ttl=3)
    clock.advance(4)
    assert cache.ttl_left("a") == 6
    assert cache.ttl_left("b") is None
    assert cache.purge_expired() == 1
    assert len(cache) == 1


def test_stats(clock):
    cache = TTLCache(maxsize=4, ttl=10, clock=clock)
    cache.set("a", 1)
    cache.get("a")
    cache.get("b")
    assert (cache.stats.hits, cache.stats.misses, cache.stats.hit_rate) == (1, 1, 0.5)


def test_keyerror(clock):
    with pytest.raises(KeyError):
        TTLCache(clock=clock)["x"]
