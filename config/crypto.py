"""Encryption at rest for secrets the platform must be able to read back (e.g. request-signing
secrets, later provider keys). Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

FIELD_ENCRYPTION_KEYS lists Fernet keys, newest first: the first encrypts, all decrypt, so a
key can be rotated by prepending a new one and re-saving rows at leisure.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:  # local default: derived from SECRET_KEY (production sets its own keys)
        keys = [base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_text(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    """Raises ValueError if the token was not made with one of our keys."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: unknown key or corrupted value") from exc
