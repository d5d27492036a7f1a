"""Memoization on top of TTLCache."""

import functools

_KWARGS_MARK = object()


def make_key(args, kwargs):
    """A hashable key for a call. Keyword order does not matter."""
    if not kwargs:
        return args
    return args + (_KWARGS_MARK,) + tuple(sorted(kwargs.items()))


def cached(cache, key=make_key):
    """Cache a function's results in `cache` (a TTLCache). Unhashable arguments bypass the cache."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                k = key(args, kwargs)
                hash(k)
            except TypeError:
                return func(*args, **kwargs)
            return cache.get_or_set(k, lambda: func(*args, **kwargs))

        wrapper.cache = cache
        wrapper.cache_clear = cache.clear
        return wrapper

    return decorate
