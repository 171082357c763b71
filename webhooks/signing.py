"""Standard Webhooks signing (https://www.standardwebhooks.com/): secrets and signature headers.

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded bytes. The
signature of a message is `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), and
`webhook-signature` carries one per secret, space-separated, so receivers accept a message
signed with either the new or the previous secret during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32


def webhook_secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def webhook_secret_display(secret: str) -> str:
    """What the portal shows after the one-time reveal: prefix and last four characters."""
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secrets start with whsec_")
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def webhook_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_signed_headers(*, secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, with one signature per secret (newest first)."""
    signatures = [webhook_signature(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets]
    if not signatures:
        raise ValueError("at least one secret is needed to sign")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
