"""Decorator front-end for the limiters."""

import functools

from .bucket import TokenBucket


class RateLimitExceeded(Exception):
    def __init__(self, retry_after):
        super().__init__(f"rate limit exceeded; retry after {retry_after:.2f}s")
        self.retry_after = retry_after


def rate_limited(limiter=None, *, burst=None, per_second=None, clock=None):
    """Wrap a function so that calls beyond the limit raise RateLimitExceeded.

    Pass an existing limiter (TokenBucket or SlidingWindowLimiter), or burst/per_second to
    create a TokenBucket.
    """
    if limiter is None:
        if burst is None or per_second is None:
            raise TypeError("pass a limiter or both burst and per_second")
        limiter = TokenBucket(burst, per_second, clock=clock)

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if not limiter.try_acquire():
                raise RateLimitExceeded(limiter.wait_time())
            return func(*args, **kwargs)

        wrapper.limiter = limiter
        return wrapper

    return decorate
