"""Hostname → tenant resolution, cached in Redis and invalidated on every tenant/domain write.

The cache entry holds the Tenant row itself, so a routed request costs one Redis GET instead of
a join on the domain table. Entries are keyed by hostname in the `routing` cache, whose keys do
not depend on the active schema (routing happens before any schema is chosen).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches

from tenants.models import Domain, Tenant

_MISSING = "missing"


def platform_cache_key(key: str, key_prefix: str, version: int) -> str:
    """Key function for caches that hold platform (public-schema) data only."""
    return f"platform:{key_prefix}:{version}:{key}"


def _key(hostname: str) -> str:
    return f"tenant-host:{hostname}"


def tenant_for_hostname(hostname: str) -> Tenant | None:
    cache = caches["routing"]
    cached = cache.get(_key(hostname))
    if cached == _MISSING:
        return None
    if cached is not None:
        return cached
    domain = Domain.objects.select_related("tenant__plan").filter(domain=hostname).first()
    tenant = domain.tenant if domain else None
    cache.set(_key(hostname), tenant or _MISSING, settings.TENANT_ROUTING_CACHE_SECONDS)
    return tenant


def routing_cache_forget(*, tenant: Tenant | None = None, hostnames: list[str] | tuple[str, ...] = ()) -> None:
    """Drop cached routes for the given hostnames and every domain of `tenant`."""
    names = set(hostnames)
    if tenant is not None and tenant.pk:
        names.update(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True))
    keys = [_key(name) for name in names]
    if tenant is not None and tenant.pk:
        keys.append(_id_key(tenant.pk))
    if keys:
        caches["routing"].delete_many(keys)


def _id_key(tenant_id: int) -> str:
    return f"tenant-id:{tenant_id}"


def tenant_by_id(tenant_id: int) -> Tenant | None:
    """Cached like hostnames (used when an API key on the public host names the tenant)."""
    cache = caches["routing"]
    tenant = cache.get(_id_key(tenant_id))
    if tenant is None:
        tenant = Tenant.objects.select_related("plan").filter(pk=tenant_id).first()
        if tenant is not None:
            cache.set(_id_key(tenant_id), tenant, settings.TENANT_ROUTING_CACHE_SECONDS)
    return tenant
