from dataclasses import dataclass


@dataclass
class Entry:
    value: object
    expires_at: float  # absolute time on the cache's clock; float("inf") = never

    def expired(self, now):
        return now >= self.expires_at

    def ttl_left(self, now):
        return max(0.0, self.expires_at - now)
