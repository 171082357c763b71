"""Request rate limiting: GCRA (a token bucket without a refill timer) in one atomic Redis script.

Each subject (an API key, or a signed-in user) may make `burst` requests at once and then
`per_minute` requests per minute. The script reads Redis's own clock, so every web worker
agrees on time, and it runs atomically, so N concurrent requests against R remaining admit
exactly R (DRF's throttles read-modify-write a list and over-admit under concurrency).

If Redis is unreachable the API keeps serving with a per-process limiter (same algorithm, in
memory) and logs loudly; /readyz reports Redis as unavailable.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS[1] = bucket; ARGV = emission interval (µs), burst tolerance (µs). Returns
# {allowed, remaining, retry_after_µs, reset_after_µs}.
GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
local remaining = math.floor((tolerance - (new_tat - now)) / interval)
return {1, remaining, 0, new_tat - now}
"""


POOL_SIZE = 100  # Redis connections per process
POOL_WAIT_SECONDS = 2.0  # at 0.25 s per command at worst, a free connection comes well before


@dataclass(frozen=True)
class RateLimit:
    per_minute: int
    burst: int

    @property
    def interval_us(self) -> int:
        return max(1, round(60_000_000 / self.per_minute))

    @property
    def tolerance_us(self) -> int:
        return self.interval_us * self.burst


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int  # 0 when allowed
    reset_after_s: int  # until the bucket is full again
    degraded: bool = False  # decided by the per-process fallback


@cache
def _redis() -> redis.Redis:
    # A blocking pool: with more concurrent requests than connections (redis-py's pool holds
    # 100), a request waits briefly for a free connection. A plain pool raises instead, and
    # the request would be decided by the per-process fallback: over-admission under load.
    pool = redis.BlockingConnectionPool.from_url(
        settings.RATE_LIMIT_REDIS_URL,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_SECONDS,
        socket_timeout=0.25,
        socket_connect_timeout=0.25,
    )
    return redis.Redis(connection_pool=pool)


@cache
def _script() -> redis.commands.core.Script:
    return _redis().register_script(GCRA_SCRIPT)


def rate_limiter_ping() -> None:
    """Raises redis.RedisError when the limiter's Redis cannot be reached."""
    _redis().ping()


def _decision(limit: RateLimit, allowed: int, remaining: int, retry_us: int, reset_us: int, **kw: bool) -> RateDecision:
    return RateDecision(
        allowed=bool(allowed),
        limit=limit.per_minute,
        remaining=max(0, int(remaining)),
        retry_after_s=math.ceil(retry_us / 1_000_000),
        reset_after_s=math.ceil(reset_us / 1_000_000),
        **kw,
    )


def rate_limit_hit(*, subject: str, limit: RateLimit) -> RateDecision:
    """Count one request for `subject` and say whether it may proceed."""
    key = f"ratelimit:{subject}"
    try:
        result = _script()(keys=[key], args=[limit.interval_us, limit.tolerance_us])
    except redis.RedisError:
        logger.error("Redis unreachable: rate limiting %s with the per-process fallback limiter", subject)
        return _fallback.hit(key, limit)
    return _decision(limit, *result)


class _ProcessLimiter:
    """The same GCRA in memory, per process: keeps limits roughly in force while Redis is down."""

    def __init__(self) -> None:
        self._tat: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: RateLimit) -> RateDecision:
        now = time.monotonic_ns() // 1000
        with self._lock:
            tat = max(self._tat.get(key, now), now)
            new_tat = tat + limit.interval_us
            allow_at = new_tat - limit.tolerance_us
            if allow_at > now:
                return _decision(limit, 0, 0, allow_at - now, tat - now, degraded=True)
            self._tat[key] = new_tat
            if len(self._tat) > 100_000:  # bounded memory during a long outage
                self._tat.clear()
        return _decision(
            limit, 1, (limit.tolerance_us - (new_tat - now)) // limit.interval_us, 0, new_tat - now, degraded=True
        )


_fallback = _ProcessLimiter()
