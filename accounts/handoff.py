"""One-time sign-in links that carry a new owner from the public signup to their portal.

Sessions are per schema and per host, so signing up on `localhost` cannot sign the owner in
on `acme.localhost`. The signup issues a signed token (schema, user id, nonce) valid for
LOGIN_HANDOFF_MAX_AGE seconds; the portal redeems it once (the nonce is burnt in Redis).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import caches

_SALT = "accounts.login-handoff"


def handoff_token_issue(*, schema_name: str, user_id: int) -> str:
    return signing.dumps({"s": schema_name, "u": user_id, "n": secrets.token_urlsafe(16)}, salt=_SALT)


def handoff_token_redeem(*, token: str, schema_name: str) -> int | None:
    """The user id the token signs in, or None if it is forged, expired, used or for another tenant."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.LOGIN_HANDOFF_MAX_AGE)
    except signing.BadSignature:
        return None
    if payload.get("s") != schema_name:
        return None
    # add() is atomic: only the first redemption of a nonce succeeds.
    if not caches["routing"].add(f"handoff-nonce:{payload['n']}", 1, settings.LOGIN_HANDOFF_MAX_AGE * 2):
        return None
    return int(payload["u"])
