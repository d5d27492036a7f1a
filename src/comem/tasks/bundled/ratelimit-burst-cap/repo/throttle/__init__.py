"""Rate limiting primitives."""

from .bucket import TokenBucket
from .clock import ManualClock, MonotonicClock
from .decorators import RateLimitExceeded, rate_limited
from .limiter import RateLimiter
from .window import SlidingWindowLimiter

__all__ = [
    "ManualClock",
    "MonotonicClock",
    "RateLimitExceeded",
    "RateLimiter",
    "SlidingWindowLimiter",
    "TokenBucket",
    "rate_limited",
]
