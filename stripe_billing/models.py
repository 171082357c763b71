"""What ties the product to Stripe (public schema): customers, prices, invoices, the webhook inbox.

dj-stripe mirrors Stripe's own objects (`djstripe.Subscription`, `djstripe.Invoice`, …); these
rows hold only what dj-stripe has no place for: which tenant a Stripe customer is, which Stripe
Price a catalog price is sold as, which product invoice a Stripe invoice became, and every
webhook event received (the inbox that makes processing idempotent and retryable).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing.models import BillingCycle


class StripeCustomerLink(models.Model):
    """One tenant's Stripe customer and its current Stripe subscription (if any).

    The row is also the per-tenant lock: every change that fetches Stripe state and applies it
    holds `select_for_update()` on it, so applications happen in the order of the fetches.
    """

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="stripe_customer")
    customer_id = models.CharField(max_length=255, unique=True)
    subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("tenant",)
        verbose_name = "Stripe customer"

    def __str__(self) -> str:
        return f"{self.tenant} → {self.customer_id}"


class StripePriceLink(models.Model):
    """A Stripe Price a catalog price is sold as: a plan price, or an add-on price in one cycle.

    An add-on's catalog price is per month; Stripe bills every item of a subscription on the same
    interval, so an add-on has one Stripe Price per billing cycle. When an amount changes, a new
    Stripe Price becomes current; the old link stays so subscriptions still on it keep resolving.
    """

    plan_price = models.ForeignKey(
        "billing.PlanPrice", on_delete=models.CASCADE, null=True, blank=True, related_name="stripe_links"
    )
    add_on_price = models.ForeignKey(
        "billing.AddOnPrice", on_delete=models.CASCADE, null=True, blank=True, related_name="stripe_links"
    )
    billing_cycle = models.CharField(
        max_length=16, choices=BillingCycle.choices, blank=True, help_text="For an add-on price only."
    )
    stripe_price_id = models.CharField(max_length=255, unique=True)
    stripe_product_id = models.CharField(max_length=255)
    is_current = models.BooleanField(default=True, help_text="New subscriptions and plan changes use this Price.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("plan_price", "add_on_price", "billing_cycle", "-is_current")
        verbose_name = "Stripe price"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(plan_price__isnull=False, add_on_price__isnull=True, billing_cycle="")
                    | (Q(plan_price__isnull=True, add_on_price__isnull=False) & ~Q(billing_cycle=""))
                ),
                name="stripe_price_link_plan_or_add_on_cycle",
            ),
            models.UniqueConstraint(
                fields=["plan_price"],
                condition=Q(is_current=True, plan_price__isnull=False),
                name="one_current_stripe_price_per_plan_price",
            ),
            models.UniqueConstraint(
                fields=["add_on_price", "billing_cycle"],
                condition=Q(is_current=True, add_on_price__isnull=False),
                name="one_current_stripe_price_per_add_on_price_cycle",
            ),
        ]

    def __str__(self) -> str:
        what = self.plan_price or f"{self.add_on_price} ({self.billing_cycle})"
        return f"{what} → {self.stripe_price_id}"


class StripeAddOnItem(models.Model):
    """An add-on a tenant holds because its Stripe subscription has an item for it (source: Stripe).

    Written only by the mirror (`mirror.add_ons_apply`). A `billing.TenantAddOn` with a current row
    here is Stripe's: the mirror activates, re-counts and ends it as the items come and go. A holding
    without one was given by staff (or bought on the local backend) and the mirror leaves it alone.
    Ended rows stay as history (and number the purchases, for idempotency keys).
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="stripe_add_on_items")
    add_on = models.ForeignKey("billing.AddOn", on_delete=models.PROTECT, related_name="stripe_items")
    subscription_id = models.CharField(max_length=255)
    subscription_item_id = models.CharField(max_length=255, unique=True)
    quantity = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("tenant", "add_on", "-started_at")
        verbose_name = "Stripe add-on item"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "add_on"], condition=Q(ended_at__isnull=True), name="one_current_stripe_add_on_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.add_on} × {self.quantity} → {self.subscription_item_id}"


class StripeInvoiceLink(models.Model):
    """The product invoice (`billing.Invoice`, numbered by us) a finalized Stripe invoice became."""

    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.CASCADE, related_name="stripe_link")
    failed_attempts_recorded = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("-id",)
        verbose_name = "Stripe invoice"

    def __str__(self) -> str:
        return f"{self.stripe_invoice_id} → {self.invoice_id}"


class StripeAccountBinding(models.Model):
    """Which Stripe account a secret key belongs to, keyed by the key's SHA-256 (never the key).

    dj-stripe would otherwise store the secret key in plain text (`djstripe.APIKey`) to find the
    owning account; see `stripe_billing.owner_account`.
    """

    key_fingerprint = models.CharField(max_length=64, unique=True)
    account_id = models.CharField(max_length=255)
    livemode = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.account_id


class WebhookEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed (will be retried)"


class StripeWebhookEvent(models.Model):
    """The inbox: one row per Stripe event id, whatever number of times Stripe delivered it."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    livemode = models.BooleanField(default=False)
    api_version = models.CharField(max_length=64, blank=True)
    stripe_created = models.DateTimeField(help_text="When Stripe created the event.")
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=WebhookEventStatus.choices, default=WebhookEventStatus.PENDING, db_index=True
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.SET_NULL, null=True, blank=True, related_name="stripe_webhook_events"
    )
    deliveries = models.PositiveIntegerField(default=1, help_text="Times Stripe delivered this event.")
    attempts = models.PositiveIntegerField(default=0, help_text="Times processing was tried.")
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-received_at", "-id")
        verbose_name = "Stripe webhook event"

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.status})"
