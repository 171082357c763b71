"""Every write to the catalog and to what tenants hold beyond their plan.

Each service validates the row (`full_clean`), writes in a transaction, audits, and drops the
cached entitlements of every tenant the change touches. Catalog changes are audited in public;
changes to one tenant in public (with `tenant_slug`) and in the tenant's own trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from audit.services import Actor, audit_record, audit_record_platform_and_tenant
from billing.entitlements import entitlements_forget
from billing.models import (
    AddOn,
    AddOnPrice,
    Plan,
    PlanOveragePrice,
    PlanPrice,
    TenantAddOn,
    TenantEntitlementOverride,
)
from billing.selectors import tenant_ids_holding_add_on, tenant_ids_on_plan
from config.errors import ValidationFailed

if TYPE_CHECKING:
    from tenants.models import Tenant

# What the audit trail keeps of each catalog row.
_PLAN_FIELDS = ("code", "name", "description", "limits", "features", "sla", "sort_order", "is_public")
_ADD_ON_FIELDS = ("code", "name", "description", "features", "limit_increments", "sort_order", "is_public")


def _validated(row: Any, *, exclude: list[str] | None = None) -> None:
    """`full_clean()` as `ValidationFailed`, so every caller (admin, shell, future APIs) gets the same error."""
    try:
        row.full_clean(exclude=exclude)
    except DjangoValidationError as error:
        errors = {field: list(messages) for field, messages in error.message_dict.items()}
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, errors=errors) from None


def validated_or_raise(row: Any, *, exclude: list[str] | None = None) -> None:
    """A model row's `full_clean()`, raising `ValidationFailed` (for services in other billing modules)."""
    _validated(row, exclude=exclude)


def _changes(before: Any, after: Any, fields: tuple[str, ...]) -> dict[str, list[Any]]:
    if before is None:
        return {field: [None, getattr(after, field)] for field in fields}
    return {
        field: [getattr(before, field), getattr(after, field)]
        for field in fields
        if getattr(before, field) != getattr(after, field)
    }


def _catalog_item_save(*, item: Plan | AddOn, actor: Actor, fields: tuple[str, ...], kind: str) -> None:
    _validated(item)
    before = type(item).objects.filter(pk=item.pk).first() if item.pk else None
    with transaction.atomic():
        item.save()
        changes = _changes(before, item, fields)
        if changes:
            action = f"billing.{kind}_created" if before is None else f"billing.{kind}_updated"
            audit_record(action=action, actor=actor, target=item, data={"changes": changes})


def plan_save(*, plan: Plan, actor: Actor) -> Plan:
    """Create or update a plan (edits already applied to `plan`). Every tenant on it sees the change at once."""
    _catalog_item_save(item=plan, actor=actor, fields=_PLAN_FIELDS, kind="plan")
    entitlements_forget(tenant_ids=tenant_ids_on_plan(plan=plan))
    return plan


def add_on_save(*, add_on: AddOn, actor: Actor) -> AddOn:
    """Create or update an add-on. Every tenant holding it sees the change at once."""
    _catalog_item_save(item=add_on, actor=actor, fields=_ADD_ON_FIELDS, kind="add_on")
    entitlements_forget(tenant_ids=tenant_ids_holding_add_on(add_on=add_on))
    return add_on


CatalogPrice = PlanPrice | AddOnPrice | PlanOveragePrice


def _price_owner(price: CatalogPrice) -> Plan | AddOn:
    return price.add_on if isinstance(price, AddOnPrice) else price.plan


def catalog_price_save(*, price: CatalogPrice, actor: Actor) -> CatalogPrice:
    """Create or change a plan's, an add-on's or a plan's overage price. Prices do not affect entitlements."""
    _validated(price)
    before = type(price).objects.filter(pk=price.pk).first() if price.pk else None
    with transaction.atomic():
        price.save()
        if before is None or (before.amount, str(before)) != (price.amount, str(price)):
            audit_record(
                action="billing.price_set",
                actor=actor,
                target=_price_owner(price),
                data={
                    "price": str(price),
                    "amount": [before.amount if before else None, price.amount],
                    "currency": price.currency,
                },
            )
    return price


def catalog_price_delete(*, price: CatalogPrice, actor: Actor) -> None:
    with transaction.atomic():
        audit_record(
            action="billing.price_deleted",
            actor=actor,
            target=_price_owner(price),
            data={"price": str(price), "amount": price.amount, "currency": price.currency},
        )
        price.delete()


def tenant_add_on_set(
    *, tenant: Tenant, add_on: AddOn, quantity: int = 1, active: bool = True, actor: Actor
) -> TenantAddOn:
    """Give `tenant` `quantity` units of `add_on`, or change or deactivate what it holds.

    One row per tenant and add-on: deactivating keeps it (and its history); setting it again
    reactivates it. Raises `ValidationFailed` for a quantity below 1.
    """
    with transaction.atomic():
        held = TenantAddOn.objects.select_for_update().filter(tenant=tenant, add_on=add_on).first()
        before = (held.quantity, held.active) if held else None
        held = held or TenantAddOn(tenant=tenant, add_on=add_on)
        held.quantity, held.active = quantity, active
        _validated(held, exclude=["tenant", "add_on"])
        if before == (quantity, active):
            return held
        held.save()
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="billing.add_on_changed",
            actor=actor,
            target=held,
            data={
                "add_on": add_on.code,
                "quantity": [before[0] if before else 0, quantity],
                "active": [before[1] if before else False, active],
            },
        )
    entitlements_forget(tenant_ids=[tenant.pk])
    return held


def tenant_entitlement_override_create(
    *, tenant: Tenant, limits: dict[str, int | None], features: list[str], reason: str, actor: Actor
) -> TenantEntitlementOverride:
    """Staff's exception for one tenant: `limits` set outright, `features` added. `reason` is required.

    Raises `ValidationFailed` for unknown limits or features, a negative limit, or an empty override.
    """
    override = TenantEntitlementOverride(
        tenant=tenant,
        limits=limits,
        features=features,
        reason=reason.strip(),
        **actor.as_creator(),
    )
    _validated(override)
    with transaction.atomic():
        override.save()
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="billing.override_created",
            actor=actor,
            target=override,
            data={"limits": limits, "features": features, "reason": override.reason},
        )
    entitlements_forget(tenant_ids=[tenant.pk])
    return override


def tenant_entitlement_override_delete(*, override: TenantEntitlementOverride, actor: Actor) -> None:
    tenant = override.tenant
    with transaction.atomic():
        audit_record_platform_and_tenant(
            tenant=tenant,
            action="billing.override_deleted",
            actor=actor,
            target=override,
            data={"limits": override.limits, "features": override.features, "reason": override.reason},
        )
        override.delete()
    entitlements_forget(tenant_ids=[tenant.pk])
