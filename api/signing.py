"""Optional request signing for keys that require it.

    X-Agentry-Timestamp: <unix seconds>
    X-Agentry-Signature: v1=<hex HMAC-SHA256(signing_secret, message)>
    message = "<timestamp>\\n<METHOD>\\n<path?query>\\n<sha256 hex of body>"

Optionally `X-Agentry-Nonce: <1–64 of A–Z a–z 0–9 _ ->`; it is then signed as a line of its own
right after the timestamp, so two otherwise identical requests in the same second differ.

Timestamps more than SIGNATURE_TOLERANCE_SECONDS away are refused, and each signature is
accepted once (replays are refused for twice the tolerance window).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError

from config.errors import AuthenticationError

_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def signature_message(*, timestamp: str, method: str, path: str, body: bytes, nonce: str | None = None) -> bytes:
    lines = [timestamp, *([nonce] if nonce else []), method.upper(), path, hashlib.sha256(body).hexdigest()]
    return "\n".join(lines).encode()


def signature_compute(
    *, secret: str, timestamp: str, method: str, path: str, body: bytes, nonce: str | None = None
) -> str:
    message = signature_message(timestamp=timestamp, method=method, path=path, body=body, nonce=nonce)
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_verify(
    *,
    key_id: str,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    method: str,
    path: str,
    body: bytes,
    nonce: str | None = None,
) -> None:
    """Raise AuthenticationError (code signature_invalid / signature_replayed) unless valid and fresh."""
    if not timestamp or not signature:
        raise AuthenticationError(
            "This key requires signed requests: send X-Agentry-Timestamp and X-Agentry-Signature.",
            code="signature_required",
        )
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        raise AuthenticationError("X-Agentry-Timestamp must be Unix seconds.", code="signature_invalid") from None
    if nonce is not None and not _NONCE.match(nonce):
        raise AuthenticationError("X-Agentry-Nonce must be 1–64 of A–Z a–z 0–9 _ -.", code="signature_invalid")
    if skew > settings.SIGNATURE_TOLERANCE_SECONDS:
        raise AuthenticationError("The request timestamp is too old or in the future.", code="signature_expired")
    expected = signature_compute(secret=secret, timestamp=timestamp, method=method, path=path, body=body, nonce=nonce)
    if not hmac.compare_digest(expected, signature.strip()):
        raise AuthenticationError("The request signature does not match.", code="signature_invalid")
    try:
        first_use = caches["routing"].add(
            f"sig:{key_id}:{signature.strip()}", 1, settings.SIGNATURE_TOLERANCE_SECONDS * 2
        )
    except RedisError:
        first_use = True  # cannot check replays without Redis; the timestamp window still applies
    if not first_use:
        raise AuthenticationError("This signed request was already used.", code="signature_replayed")
