"""The key format: recognisable, checksummed, and checked before any database lookup.

    agk_live_<32 base62 random chars><6 base62 chars of CRC32(prefix + random)>   secret keys
    pk_live_<32 base62 random chars><6 base62 chars of CRC32(prefix + random)>    publishable keys

~190 bits of randomness; the CRC lets secret scanners and support tell a real key from a typo.
Only the SHA-256 of the full key is stored (fast enough to check on every request; the key's
entropy makes a slow KDF pointless).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib

KEY_PREFIX = "agk_live_"
PUBLISHABLE_KEY_PREFIX = "pk_live_"
_PREFIXES = (KEY_PREFIX, PUBLISHABLE_KEY_PREFIX)
_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_RANDOM_LENGTH = 32
_CHECKSUM_LENGTH = 6
KEY_LENGTH = len(KEY_PREFIX) + _RANDOM_LENGTH + _CHECKSUM_LENGTH


def _prefix_of(raw: str) -> str | None:
    return next((prefix for prefix in _PREFIXES if raw.startswith(prefix)), None)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(_ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH)


def api_key_generate(*, publishable: bool = False) -> str:
    prefix = PUBLISHABLE_KEY_PREFIX if publishable else KEY_PREFIX
    body = prefix + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))
    return body + _checksum(body)


def api_key_is_well_formed(raw: str) -> bool:
    """Shape and checksum only: no database, constant work."""
    prefix = _prefix_of(raw)
    if prefix is None or len(raw) != len(prefix) + _RANDOM_LENGTH + _CHECKSUM_LENGTH:
        return False
    body, checksum = raw[:-_CHECKSUM_LENGTH], raw[-_CHECKSUM_LENGTH:]
    if any(char not in _ALPHABET for char in raw[len(prefix) :]):
        return False
    return secrets.compare_digest(_checksum(body), checksum)


def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_display(raw: str) -> tuple[str, str]:
    """(prefix, last4) shown in lists: enough to recognise a key, useless to use it."""
    return raw[: len(_prefix_of(raw) or KEY_PREFIX) + 4], raw[-4:]
