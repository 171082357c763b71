"""The platform side of usage metering (public schema): model prices, staff's per-tenant usage
view, and the list of tenants with events waiting in their PostgreSQL outbox.

Each tenant's own usage lives in its schema (the `usage` app); nothing here holds usage numbers.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from tenants.models import Tenant


class ModelPrice(models.Model):
    """What one language model costs per 1,000 tokens: cost = tokens ÷ 1000 × price.

    Usage events name the model as `<provider>/<model>` (see usage.recorder.usage_record).
    Costs are computed with today's prices, so editing a price re-prices past usage too.
    """

    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128)
    input_price_per_1k = models.DecimalField(
        "input price per 1K tokens", max_digits=12, decimal_places=6, validators=[MinValueValidator(Decimal(0))]
    )
    output_price_per_1k = models.DecimalField(
        "output price per 1K tokens", max_digits=12, decimal_places=6, validators=[MinValueValidator(Decimal(0))]
    )
    currency = models.CharField(max_length=3, default="USD", editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "model"]
        constraints = [models.UniqueConstraint(fields=["provider", "model"], name="metering_model_price_unique")]

    def __str__(self) -> str:
        return self.qualified_name

    @property
    def qualified_name(self) -> str:
        return f"{self.provider}/{self.model}"


class OutboxPending(models.Model):
    """A tenant whose usage outbox has rows (Redis was down when they were recorded): the rollup
    dispatcher cannot learn it from Redis, so the recorder notes it here."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"outbox pending for tenant {self.tenant_id}"


class TenantUsage(Tenant):
    """Staff's view of every tenant's usage this month (admin only; no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "usage per tenant"
        verbose_name_plural = "usage per tenant"


class TenantConversations(Tenant):
    """Staff's view of each tenant's conversations: counts and cost, per agent on a tenant's page
    (admin only; no table of its own; never message contents)."""

    class Meta:
        proxy = True
        verbose_name = "conversations per tenant"
        verbose_name_plural = "conversations per tenant"
