"""DRF authentication: API keys (Bearer or X-API-Key) and portal sessions (CSRF-checked)."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from api.principal import ApiPrincipal
from api.signing import signature_verify
from apikeys.cache import KeyRecord, key_record_for_hash
from apikeys.secrets import api_key_hash, api_key_is_well_formed
from config.client_ip import client_ip
from config.crypto import decrypt_text
from config.errors import AuthenticationError, IpNotAllowed

LAST_USED_RESOLUTION_SECONDS = 300
# A process asks Redis whether a key's last use is due at most this often (else: a Redis round
# trip on every request, ~0.2 ms of the API's added latency in `make bench`).
LAST_USED_LOCAL_CHECK_SECONDS = 30
_last_used_checked: dict[str, float] = {}  # key id → time.monotonic() of this process's last check


def raw_key_from_headers(request: HttpRequest) -> str | None:
    """The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`; None if neither is sent."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError(
                "Use `Authorization: Bearer <key>` or `X-API-Key: <key>`.", code="malformed_credentials"
            )
        return value.strip()
    value = request.META.get("HTTP_X_API_KEY")
    return value.strip() if value is not None else None


def key_record_for_raw(raw: str) -> KeyRecord:
    """The live key for `raw`, checked for shape before any lookup. Raises AuthenticationError."""
    if not api_key_is_well_formed(raw):
        raise AuthenticationError(
            "This is not a valid Agentry API key (expected agk_live_…).", code="malformed_credentials"
        )
    record = key_record_for_hash(api_key_hash(raw))
    if record is None:
        raise AuthenticationError("Unknown API key.", code="invalid_api_key")
    if record.revoked:
        raise AuthenticationError("This API key has been revoked.", code="api_key_revoked")
    if record.is_expired:
        raise AuthenticationError("This API key has expired.", code="api_key_expired")
    return record


def _ip_allowed(ip: str, cidrs: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d
    return any(address in ipaddress.ip_network(cidr) for cidr in cidrs)


def _touch_last_used(record: KeyRecord) -> None:
    """At most one UPDATE per key every few minutes (gated in Redis for all processes), and at most
    one Redis check per key and process every LAST_USED_LOCAL_CHECK_SECONDS, not one per request."""
    from apikeys.services import api_key_touch

    now = time.monotonic()
    checked = _last_used_checked.get(record.id)
    if checked is not None and now - checked < LAST_USED_LOCAL_CHECK_SECONDS:
        return
    if len(_last_used_checked) > 10_000:  # bounded: old entries are only ever "due again"
        _last_used_checked.clear()
    _last_used_checked[record.id] = now
    try:
        due = caches["routing"].add(f"apikey-used:{record.id}", 1, LAST_USED_RESOLUTION_SECONDS)
    except RedisError:
        due = False
    if due:
        api_key_touch(key_id=record.id)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiPrincipal, KeyRecord] | None:
        raw = raw_key_from_headers(request._request)
        if raw is None:
            return None
        record = key_record_for_raw(raw)
        tenant = request._request.tenant  # type: ignore[attr-defined]
        if record.tenant_id != getattr(tenant, "pk", None):
            raise AuthenticationError("This API key belongs to another workspace.", code="invalid_api_key")
        if record.allowed_cidrs and not _ip_allowed(client_ip(request._request), record.allowed_cidrs):
            raise IpNotAllowed()
        if record.signing_required:
            self._verify_signature(request, record)
        _touch_last_used(record)
        return ApiPrincipal.for_key(record), record

    @staticmethod
    def _verify_signature(request: Request, record: KeyRecord) -> None:
        django_request = request._request
        signature_verify(
            key_id=record.id,
            secret=decrypt_text(record.signing_secret_encrypted),
            timestamp=django_request.META.get("HTTP_X_AGENTRY_TIMESTAMP"),
            signature=django_request.META.get("HTTP_X_AGENTRY_SIGNATURE"),
            nonce=django_request.META.get("HTTP_X_AGENTRY_NONCE"),
            method=django_request.method or "GET",
            path=django_request.get_full_path(),
            body=django_request.body,
        )

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="agentry"'


class PortalSessionAuthentication(SessionAuthentication):
    """A signed-in portal user may call the API from the browser; CSRF is enforced."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        return ApiPrincipal.for_user(user), None
