"""A fixed-window attempt counter in Redis for abuse-prone public forms (signup)."""

from django.core.cache import cache


def attempt_allowed(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt for `ident`; False once more than `limit` happened in the window."""
    key = f"throttle:{scope}:{ident}"
    cache.add(key, 0, window_seconds)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, window_seconds)
        return True
