"""One-time form tokens for POSTs whose response shows a secret.

Those pages render the secret in the POST response itself (never via redirect, session or
URL), so reloading or going back would make the browser resubmit the form: a second key, or
a second rotation that silently invalidates the secret the user just copied. The form carries
a random token; the first POST claims it and a resubmission is recognised and refused.
"""

from __future__ import annotations

import logging
import secrets

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

SUBMISSION_TOKEN_SECONDS = 24 * 3600
_MAX_TOKEN_LENGTH = 64


def submission_token_new() -> str:
    return secrets.token_urlsafe(16)


def _cache_key(token: str) -> str:
    return f"portal-submission:{token}"


def submission_token_claim(token: str) -> bool:
    """True unless `token` was already claimed. An empty token (a client that did not render
    the form) is not guarded; if Redis is down the submission goes ahead rather than failing."""
    if not token:
        return True
    if len(token) > _MAX_TOKEN_LENGTH:
        return False
    try:
        return bool(cache.add(_cache_key(token), 1, SUBMISSION_TOKEN_SECONDS))
    except RedisError:
        logger.error("Redis unavailable: resubmission guard skipped")
        return True


def submission_token_release(token: str) -> None:
    """Make a claimed token usable again (the submission failed, so the corrected form may be sent)."""
    if token and len(token) <= _MAX_TOKEN_LENGTH:
        try:
            cache.delete(_cache_key(token))
        except RedisError:
            logger.error("Redis unavailable: could not release a submission token")
