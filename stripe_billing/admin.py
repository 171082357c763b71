"""Staff admin for the Stripe links and the webhook inbox (failed events can be reprocessed)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from stripe_billing.models import (
    StripeAddOnItem,
    StripeCustomerLink,
    StripeInvoiceLink,
    StripePriceLink,
    StripeWebhookEvent,
)
from stripe_billing.webhooks import webhook_event_reprocess


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the Stripe backend; staff look, filter and search."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StripePriceLink)
class StripePriceLinkAdmin(admin.ModelAdmin):
    """Which Stripe Price each catalog price is sold as (`manage.py stripe_sync_catalog` fills it)."""

    list_display = ("__str__", "stripe_price_id", "stripe_product_id", "is_current", "updated_at")
    list_filter = ("is_current", "billing_cycle", "plan_price__plan", "add_on_price__add_on")
    search_fields = ("stripe_price_id", "stripe_product_id", "plan_price__plan__code", "add_on_price__add_on__code")
    list_select_related = ("plan_price__plan", "add_on_price__add_on")
    fields = ("plan_price", "add_on_price", "billing_cycle", "stripe_price_id", "stripe_product_id", "is_current")


@admin.register(StripeCustomerLink)
class StripeCustomerLinkAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "customer_id", "subscription_id", "updated_at")
    search_fields = ("tenant__slug", "tenant__name", "customer_id", "subscription_id")
    list_select_related = ("tenant",)


@admin.register(StripeInvoiceLink)
class StripeInvoiceLinkAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "stripe_invoice_id", "failed_attempts_recorded")
    search_fields = ("stripe_invoice_id", "invoice__number", "invoice__tenant__slug")
    list_select_related = ("invoice",)


@admin.register(StripeAddOnItem)
class StripeAddOnItemAdmin(ReadOnlyAdmin):
    """Add-ons held because the tenant's Stripe subscription has an item for them (the mirror's)."""

    list_display = ("tenant", "add_on", "quantity", "subscription_item_id", "started_at", "ended_at")
    list_filter = ("add_on", ("ended_at", admin.EmptyFieldListFilter))
    search_fields = ("tenant__slug", "tenant__name", "subscription_item_id", "subscription_id")
    list_select_related = ("tenant", "add_on")


@admin.register(StripeWebhookEvent)
class StripeWebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "status", "tenant", "deliveries", "attempts", "stripe_created", "received_at")
    list_filter = ("status", "type", "livemode")
    search_fields = ("event_id", "object_id", "tenant__slug", "last_error")
    list_select_related = ("tenant",)
    date_hierarchy = "received_at"
    actions = ["reprocess"]

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stripe_billing.change_stripewebhookevent")

    @admin.action(description="Reprocess selected failed or pending events", permissions=["reprocess"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[StripeWebhookEvent]) -> None:
        queued = webhook_event_reprocess(event_ids=list(queryset.values_list("event_id", flat=True)))
        skipped = queryset.count() - queued
        self.message_user(request, f"Queued {queued} event(s) for processing.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} already processed or ignored event(s).", messages.WARNING)
