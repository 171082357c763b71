"""Writes to the platform's metering tables (public schema)."""

from __future__ import annotations

from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from audit.services import Actor, audit_record
from metering.models import ModelPrice, OutboxPending
from tenants.models import Tenant


def model_price_save(*, price: ModelPrice, actor: Actor) -> ModelPrice:
    """Create or change a model's price (edits already applied), audited in the platform trail.

    Costs are computed from current prices, so every tenant's costs change with it at once.
    """
    price.full_clean()
    with schema_context(get_public_schema_name()), transaction.atomic():
        created = price.pk is None
        price.save()
        audit_record(
            action="model_price.created" if created else "model_price.updated",
            actor=actor,
            target=price,
            data={
                "input_price_per_1k": str(price.input_price_per_1k),
                "output_price_per_1k": str(price.output_price_per_1k),
            },
        )
    return price


def model_price_delete(*, price: ModelPrice, actor: Actor) -> None:
    with schema_context(get_public_schema_name()), transaction.atomic():
        audit_record(action="model_price.deleted", actor=actor, target=price)
        price.delete()


def outbox_pending_mark(*, tenant: Tenant) -> None:
    """Note that `tenant` has outbox events for the rollup dispatcher (idempotent)."""
    with schema_context(get_public_schema_name()):
        OutboxPending.objects.bulk_create([OutboxPending(tenant_id=tenant.pk)], ignore_conflicts=True)


def outbox_pending_clear(*, tenant: Tenant) -> None:
    with schema_context(get_public_schema_name()):
        OutboxPending.objects.filter(tenant_id=tenant.pk).delete()
