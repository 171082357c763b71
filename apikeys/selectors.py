"""Reads of API keys. Tenant-owned public rows: every selector takes the tenant explicitly."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from apikeys.models import ApiKey
from tenants.models import Tenant


def api_key_list(*, tenant: Tenant, status: str | None = None) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.filter(tenant=tenant)
    now = timezone.now()
    if status == "active":
        keys = keys.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    elif status == "revoked":
        keys = keys.filter(revoked_at__isnull=False)
    elif status == "expired":
        keys = keys.filter(revoked_at__isnull=True, expires_at__lte=now)
    return keys


def api_key_get(*, tenant: Tenant, key_id: str) -> ApiKey | None:
    if "\x00" in key_id:  # from a URL; PostgreSQL refuses NUL in text, and no key id has one
        return None
    return ApiKey.objects.filter(tenant=tenant, pk=key_id).first()


def api_key_find_by_hash(*, secret_hash: str) -> tuple[ApiKey, bool] | None:
    """The key whose current secret — or previous secret, during a rotation overlap — hashes to
    `secret_hash`; the bool says whether it matched the previous secret. Platform-level: used
    only by authentication, which then checks the key belongs to the request's tenant."""
    key = (
        ApiKey.objects.select_related("tenant")
        .filter(Q(secret_hash=secret_hash) | Q(previous_secret_hash=secret_hash))
        .first()
    )
    if key is None:
        return None
    return key, key.secret_hash != secret_hash


def publishable_origins_of_tenant(*, tenant_id: int) -> frozenset[str]:
    """Every origin some live publishable key of the tenant allows: what a CORS preflight (which
    carries no key) may be answered for. The actual request is then checked against its own key."""
    now = timezone.now()
    keys = ApiKey.objects.filter(tenant_id=tenant_id, kind="publishable", revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return frozenset(origin for origins in keys.values_list("allowed_origins", flat=True) for origin in origins)
