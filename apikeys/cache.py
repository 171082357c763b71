"""Hash → key record, cached in Redis so a request costs one GET instead of a query.

Entries hold what authentication needs (never a secret: the signing secret stays encrypted)
and are dropped on rotate/revoke, so a revoked key stops working at once on every worker.
If Redis is down, lookups fall through to PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from django.core.cache import caches
from django.utils import timezone
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_CACHE_SECONDS = 300
_MISSING = "missing"


@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    tenant_id: int
    schema_name: str
    scopes: tuple[str, ...]
    allowed_cidrs: tuple[str, ...]
    signing_required: bool
    signing_secret_encrypted: str
    rate_limit_per_minute: int | None
    rate_limit_burst: int | None
    expires_at: datetime | None
    revoked: bool
    # Set when the presented secret is the previous one of a rotation.
    valid_until: datetime | None
    # Defaults: entries cached before publishable keys existed still load.
    kind: str = "secret"
    agent_id: str = ""
    allowed_origins: tuple[str, ...] = ()

    @property
    def is_publishable(self) -> bool:
        return self.kind == "publishable"

    @property
    def is_expired(self) -> bool:
        now = timezone.now()
        return (self.expires_at is not None and self.expires_at <= now) or (
            self.valid_until is not None and self.valid_until <= now
        )


def _cache_key(secret_hash: str) -> str:
    return f"apikey:{secret_hash}"


def _from_db(secret_hash: str) -> KeyRecord | None:
    from apikeys.selectors import api_key_find_by_hash

    found = api_key_find_by_hash(secret_hash=secret_hash)
    if found is None:
        return None
    key, is_previous = found
    return KeyRecord(
        id=key.id,
        name=key.name,
        tenant_id=key.tenant_id,
        schema_name=key.tenant.schema_name,
        scopes=tuple(key.scopes),
        allowed_cidrs=tuple(key.allowed_cidrs),
        signing_required=key.signing_required,
        signing_secret_encrypted=key.signing_secret_encrypted,
        rate_limit_per_minute=key.rate_limit_per_minute,
        rate_limit_burst=key.rate_limit_burst,
        expires_at=key.expires_at,
        revoked=key.revoked_at is not None,
        valid_until=key.previous_valid_until if is_previous else None,
        kind=key.kind,
        agent_id=key.agent_id,
        allowed_origins=tuple(key.allowed_origins),
    )


def key_record_for_hash(secret_hash: str) -> KeyRecord | None:
    cache = caches["routing"]
    try:
        cached = cache.get(_cache_key(secret_hash))
    except RedisError:
        logger.error("Redis unavailable: API key lookup falls back to PostgreSQL")
        return _from_db(secret_hash)
    if cached == _MISSING:
        return None
    if cached is not None:
        return KeyRecord(**cached)
    record = _from_db(secret_hash)
    with contextlib.suppress(RedisError):
        # Unknown hashes are remembered briefly too, so garbage keys cannot hammer the database.
        cache.set(_cache_key(secret_hash), asdict(record) if record else _MISSING, KEY_CACHE_SECONDS if record else 30)
    return record


def key_cache_forget(secret_hashes: list[str | None]) -> None:
    keys = [_cache_key(h) for h in secret_hashes if h]
    if keys:
        try:
            caches["routing"].delete_many(keys)
        except RedisError:
            logger.error("Redis unavailable: could not drop cached API keys %s", keys)
