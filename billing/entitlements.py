"""The one entitlements service: may this tenant do X, and how much of Y does it have?

Entitlements are computed from, in order:

1. the tenant's plan (features and limits);
2. its active add-ons: features are added, limit increments × quantity are added to the limit
   (an unlimited limit stays unlimited);
3. staff overrides, oldest first: features are added, limits are set outright (null: unlimited),
   beating plan and add-ons.

Every feature gate and limit in the product asks this module; no code asks which plan a
tenant is on. Results are cached per tenant in the `routing` cache (platform data, keyed by
tenant id, not by schema) and dropped by every write to an input: `billing.services` for
catalog, add-on and override changes, `tenants.services` (and the tenant post_save signal)
for a plan change. `ENTITLEMENTS_CACHE_SECONDS` bounds what a write that bypasses all of
these (a queryset `update()`) can leave behind.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from redis.exceptions import RedisError

from billing.models import AddOn, Feature, Limit, Plan, TenantAddOn, TenantEntitlementOverride
from billing.selectors import (
    add_on_public_first,
    plan_cheapest_public,
    plan_of_tenant,
    tenant_add_on_list,
    tenant_entitlement_override_list,
)
from config.errors import FeatureNotInPlan, PlanLimitReached

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

_FORGET_CHUNK = 500


@dataclass(frozen=True)
class Entitlements:
    plan: str  # the plan's code: for display and logs, never for decisions
    features: frozenset[str]
    limits: dict[str, int | None]  # every `Limit`; None means unlimited

    def has_feature(self, feature: str) -> bool:
        return feature in self.features

    def remaining(self, limit: str, *, current_usage: int) -> int | None:
        """How much of `limit` is left at `current_usage` (None: unlimited)."""
        allowed = self.limits[limit]
        return None if allowed is None else max(0, allowed - current_usage)

    def as_cache_value(self) -> dict[str, Any]:
        # Plain data, not a pickled class: a deploy that changes this class cannot break old entries.
        return {"plan": self.plan, "features": sorted(self.features), "limits": self.limits}

    @classmethod
    def from_cache_value(cls, value: dict[str, Any]) -> Entitlements:
        return cls(plan=value["plan"], features=frozenset(value["features"]), limits=dict(value["limits"]))


def entitlements_compute(
    *, plan: Plan, add_ons: Iterable[TenantAddOn], overrides: Iterable[TenantEntitlementOverride]
) -> Entitlements:
    """Plan, then active add-ons × quantity, then overrides (see the module docstring). No queries."""
    missing = [name for name in Limit.values if name not in plan.limits]
    if missing:  # the admin refuses such a plan; fail closed for rows written around it
        logger.error("plan %s has no value for limits %s: treated as 0", plan.code, missing)
    limits: dict[str, int | None] = {name: plan.limits.get(name, 0) for name in Limit.values}
    features = set(plan.features)
    for held in add_ons:
        if not held.active:
            continue
        features.update(held.add_on.features)
        for name, increment in held.add_on.limit_increments.items():
            current = limits.get(name)
            if name in limits and current is not None:
                limits[name] = current + increment * held.quantity
    for override in overrides:
        features.update(override.features)
        limits.update({name: value for name, value in override.limits.items() if name in limits})
    return Entitlements(plan=plan.code, features=frozenset(features), limits=limits)


def _cache_key(tenant_id: int) -> str:
    return f"entitlements:v1:{tenant_id}"


def _load(tenant: Tenant) -> Entitlements:
    return entitlements_compute(
        plan=plan_of_tenant(tenant=tenant),
        add_ons=tenant_add_on_list(tenant=tenant),
        overrides=tenant_entitlement_override_list(tenant=tenant),
    )


def entitlements_for(*, tenant: Tenant) -> Entitlements:
    """The tenant's entitlements: one Redis GET when cached, three queries when not.

    If Redis is unavailable the answer comes from PostgreSQL (and is not cached).
    """
    cache = caches["routing"]
    try:
        cached = cache.get(_cache_key(tenant.pk))
    except RedisError:
        logger.error("Redis unavailable: entitlements of tenant %s computed from PostgreSQL", tenant.slug)
        return _load(tenant)
    if cached is not None:
        return Entitlements.from_cache_value(cached)
    entitlements = _load(tenant)
    with contextlib.suppress(RedisError):
        cache.set(_cache_key(tenant.pk), entitlements.as_cache_value(), settings.ENTITLEMENTS_CACHE_SECONDS)
    return entitlements


def _delete_cached(keys: list[str]) -> None:
    try:
        for start in range(0, len(keys), _FORGET_CHUNK):
            caches["routing"].delete_many(keys[start : start + _FORGET_CHUNK])
    except RedisError:
        logger.error("Redis unavailable: could not drop cached entitlements (%d tenants)", len(keys))


def entitlements_forget(*, tenant_ids: Iterable[int]) -> None:
    """Drop cached entitlements now and again once the transaction commits.

    The second delete closes the window in which a concurrent request could recompute from
    the rows as they were before this transaction and cache them.
    """
    keys = [_cache_key(tenant_id) for tenant_id in sorted(set(tenant_ids))]
    if keys:
        _delete_cached(keys)
        transaction.on_commit(lambda: _delete_cached(keys))


def entitlement_has_feature(*, tenant: Tenant, feature: str) -> bool:
    return entitlements_for(tenant=tenant).has_feature(feature)


def _ref(item: Plan | AddOn | None) -> dict[str, str] | None:
    return {"code": item.code, "name": item.name} if item is not None else None


def _hint(plan: Plan | None, add_on: AddOn | None, *, otherwise: str) -> str:
    if plan and add_on:
        return f"Upgrade to {plan.name}, or add the {add_on.name} add-on."
    if plan:
        return f"Upgrade to {plan.name}."
    if add_on:
        return f"Add the {add_on.name} add-on."
    return otherwise


def entitlement_require_feature(*, tenant: Tenant, feature: str) -> None:
    """Return if the tenant has `feature`; else raise `FeatureNotInPlan` with upgrade hints.

    The hints name the cheapest public plan that includes the feature and the first public
    add-on that grants it (either may be None).
    """
    entitlements = entitlements_for(tenant=tenant)
    if entitlements.has_feature(feature):
        return
    plan = plan_cheapest_public(qualifies=lambda p: feature in p.features, excluding_code=entitlements.plan)
    add_on = add_on_public_first(qualifies=lambda a: feature in a.features)
    label = Feature(feature).label if feature in Feature.values else feature
    raise FeatureNotInPlan(
        f"Your plan does not include {label}. {_hint(plan, add_on, otherwise='Contact us to discuss it.')}",
        extra={"feature": feature, "upgrade_plan": _ref(plan), "upgrade_add_on": _ref(add_on)},
    )


def _amount(limit: str, value: int) -> str:
    if limit == Limit.KNOWLEDGE_STORAGE_BYTES:
        return f"{filesizeformat(value)} of knowledge storage"
    return f"{value:,} {Limit(limit).label}"


def entitlement_require_capacity(*, tenant: Tenant, limit: str, current_usage: int, adding: int = 1) -> None:
    """Return if `current_usage + adding` fits the tenant's `limit`; else raise `PlanLimitReached`.

    The hints name the cheapest public plan whose own limit would fit, and the first public
    add-on that raises the limit (either may be None).
    """
    entitlements = entitlements_for(tenant=tenant)
    allowed = entitlements.limits[limit]
    needed = current_usage + adding
    if allowed is None or needed <= allowed:
        return

    def fits(plan: Plan) -> bool:
        plan_allows = plan.limits.get(limit, 0)
        return plan_allows is None or plan_allows >= needed

    plan = plan_cheapest_public(qualifies=fits, excluding_code=entitlements.plan)
    add_on = add_on_public_first(qualifies=lambda a: limit in a.limit_increments)
    in_use = filesizeformat(current_usage) if limit == Limit.KNOWLEDGE_STORAGE_BYTES else f"{current_usage:,}"
    raise PlanLimitReached(
        f"This workspace's limit of {_amount(limit, allowed)} is reached ({in_use} in use). "
        + _hint(plan, add_on, otherwise="Contact us to raise it."),
        extra={
            "limit": limit,
            "allowed": allowed,
            "current_usage": current_usage,
            "requested": adding,
            "upgrade_plan": _ref(plan),
            "upgrade_add_on": _ref(add_on),
        },
    )
