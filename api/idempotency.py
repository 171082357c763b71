"""Idempotency-Key handling for POSTs that create something."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import IdempotencyRecord
from config.crypto import decrypt_text, encrypt_text
from config.errors import IdempotencyKeyReused, ValidationFailed

MAX_KEY_LENGTH = 255


def _request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b"\n" + path.encode() + b"\n" + body).hexdigest()


def idempotency_claim(*, principal: str, key: str, method: str, path: str, body: bytes) -> IdempotencyRecord | None:
    """Claim `key` for this request. Returns the earlier record to replay, or None to proceed
    (a new placeholder row then exists and must be completed with `idempotency_complete`).

    Raises IdempotencyKeyReused if the key was used with a different request within the TTL.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            "Idempotency-Key must be 1–255 characters.", errors={"Idempotency-Key": ["1–255 characters."]}
        )
    request_hash = _request_hash(method, path, body)
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyRecord.objects.filter(principal=principal, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                principal=principal, key=key, method=method, path=path, request_hash=request_hash
            )
        return None
    except IntegrityError:
        earlier = IdempotencyRecord.objects.get(principal=principal, key=key)
    if earlier.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different method, path or body. Use a new key."
        )
    return earlier


def idempotency_complete(*, principal: str, key: str, status_code: int, body: Any) -> None:
    """Store the response to replay. Encrypted: it may hold a secret shown once (a new API key's)."""
    sealed = encrypt_text(json.dumps(body, cls=DjangoJSONEncoder))
    IdempotencyRecord.objects.filter(principal=principal, key=key).update(status_code=status_code, response_body=sealed)


def idempotency_stored_body(record: IdempotencyRecord) -> Any:
    """The response body `idempotency_complete` stored for `record` (None if not completed)."""
    if record.response_body is None:
        return None
    return json.loads(decrypt_text(record.response_body))
