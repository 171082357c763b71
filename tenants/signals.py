"""Cache invalidation for writes that bypass the services (admin edits, shell): routing, and the
entitlements that depend on the tenant's plan."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from billing.entitlements import entitlements_forget
from tenants.models import Domain, Tenant
from tenants.routing import routing_cache_forget


@receiver([post_save, post_delete], sender=Domain)
def domain_changed(sender: type, instance: Domain, **kwargs: Any) -> None:
    routing_cache_forget(hostnames=[instance.domain])


@receiver(post_save, sender=Tenant)
def tenant_changed(sender: type, instance: Tenant, **kwargs: Any) -> None:
    routing_cache_forget(tenant=instance)
    entitlements_forget(tenant_ids=[instance.pk])
