"""Staff admin for the catalog (plans, prices, add-ons), what tenants hold beyond their plan, and
their subscriptions, invoices and payments (read-only; invoices can be marked paid or failed).

Every save and delete goes through `billing.services`, so it is validated, audited, and the
affected tenants' cached entitlements are dropped at once.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from audit.services import Actor
from billing.adjustments import credit_grant, discount_end, discount_grant
from billing.backends import billing_backend
from billing.models import (
    AddOn,
    AddOnPrice,
    BillingProfile,
    Invoice,
    InvoiceLine,
    OverageRecord,
    Payment,
    PaymentMethod,
    Plan,
    PlanOveragePrice,
    PlanPrice,
    Subscription,
    TaxRate,
    TenantAddOn,
    TenantCredit,
    TenantDiscount,
    TenantEntitlementOverride,
)
from billing.services import (
    add_on_save,
    catalog_price_delete,
    catalog_price_save,
    plan_save,
    tenant_add_on_set,
    tenant_entitlement_override_create,
    tenant_entitlement_override_delete,
)
from billing.tax import tax_rate_delete, tax_rate_save
from config.errors import ApplicationError


def _amount(amount: int) -> str:
    return f"{amount / 100:,.2f}"


class CatalogAdmin(admin.ModelAdmin):
    """Plans and add-ons: saved through their service; inline prices through the price services."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tenants may hold them: retire one by unticking "is public"

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:
        actor = Actor.for_staff(request.user)
        for price in formset.save(commit=False):
            catalog_price_save(price=price, actor=actor)
        for price in formset.deleted_objects:
            catalog_price_delete(price=price, actor=actor)


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    extra = 0
    fields = ("billing_cycle", "currency", "amount")


class PlanOveragePriceInline(admin.TabularInline):
    model = PlanOveragePrice
    extra = 0
    fields = ("meter", "currency", "amount", "package_size")
    verbose_name_plural = "overage prices (charged per started package beyond the limit)"


@admin.register(Plan)
class PlanAdmin(CatalogAdmin):
    list_display = ("name", "code", "monthly_price", "sla", "tenant_count", "is_public", "sort_order")
    list_editable = ("is_public", "sort_order")
    list_filter = ("is_public",)
    search_fields = ("name", "code")
    inlines = [PlanPriceInline, PlanOveragePriceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return super().get_queryset(request).prefetch_related("prices").annotate(tenant_total=Count("tenants"))

    @admin.display(description="tenants", ordering="tenant_total")
    def tenant_count(self, plan: Plan) -> int:
        return int(getattr(plan, "tenant_total", 0))

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        plan_save(plan=obj, actor=Actor.for_staff(request.user))


class AddOnPriceInline(admin.TabularInline):
    model = AddOnPrice
    extra = 0
    fields = ("currency", "amount")


@admin.register(AddOn)
class AddOnAdmin(CatalogAdmin):
    list_display = ("name", "code", "grants", "usd_monthly_price", "is_public", "sort_order")
    list_editable = ("is_public", "sort_order")
    list_filter = ("is_public",)
    search_fields = ("name", "code", "description")
    inlines = [AddOnPriceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AddOn]:
        return super().get_queryset(request).prefetch_related("prices")

    @admin.display(description="grants")
    def grants(self, add_on: AddOn) -> str:
        increments = [f"+{amount:,} {limit}" for limit, amount in add_on.limit_increments.items()]
        return ", ".join([*add_on.features, *increments])

    @admin.display(description="USD / month")
    def usd_monthly_price(self, add_on: AddOn) -> str:
        price = next((p for p in add_on.prices.all() if p.currency == "USD"), None)
        return _amount(price.amount) if price else "—"

    def save_model(self, request: HttpRequest, obj: AddOn, form: Any, change: bool) -> None:
        add_on_save(add_on=obj, actor=Actor.for_staff(request.user))


@admin.register(TenantAddOn)
class TenantAddOnAdmin(admin.ModelAdmin):
    list_display = ("tenant", "add_on", "quantity", "active", "updated_at")
    list_filter = ("active", "add_on", "tenant__plan")
    search_fields = ("tenant__slug", "tenant__name", "add_on__code")
    autocomplete_fields = ("tenant",)
    list_select_related = ("tenant", "add_on")
    fields = ("tenant", "add_on", "quantity", "active", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: TenantAddOn | None = None) -> tuple[str, ...]:
        # Which tenant and add-on a row is about is fixed; change quantity or deactivate instead.
        return (*self.readonly_fields, "tenant", "add_on") if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: the row is the tenant's add-on history

    def save_model(self, request: HttpRequest, obj: TenantAddOn, form: Any, change: bool) -> None:
        saved = tenant_add_on_set(
            tenant=obj.tenant,
            add_on=obj.add_on,
            quantity=obj.quantity,
            active=obj.active,
            actor=Actor.for_staff(request.user),
        )
        obj.pk = saved.pk  # the admin redirects to the saved row


@admin.register(TenantEntitlementOverride)
class TenantEntitlementOverrideAdmin(admin.ModelAdmin):
    list_display = ("tenant", "summary", "reason", "created_by_label", "created_at")
    list_filter = ("tenant__plan", "created_at")
    search_fields = ("tenant__slug", "tenant__name", "reason")
    autocomplete_fields = ("tenant",)
    list_select_related = ("tenant",)
    date_hierarchy = "created_at"
    fields = ("tenant", "limits", "features", "reason", "created_by_label", "created_at")
    readonly_fields = ("created_by_label", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: TenantEntitlementOverride | None = None) -> Any:
        # Overrides are immutable: delete one and add another (both are audited).
        return ("tenant", "limits", "features", "reason", *self.readonly_fields) if obj else self.readonly_fields

    @admin.display(description="overrides")
    def summary(self, override: TenantEntitlementOverride) -> str:
        limits = [f"{name}={'unlimited' if value is None else f'{value:,}'}" for name, value in override.limits.items()]
        return ", ".join([*limits, *(f"+{feature}" for feature in override.features)])

    def save_model(self, request: HttpRequest, obj: TenantEntitlementOverride, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable
        saved = tenant_entitlement_override_create(
            tenant=obj.tenant,
            limits=obj.limits,
            features=obj.features,
            reason=obj.reason,
            actor=Actor.for_staff(request.user),
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: TenantEntitlementOverride) -> None:
        tenant_entitlement_override_delete(override=obj, actor=Actor.for_staff(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TenantEntitlementOverride]) -> None:
        actor = Actor.for_staff(request.user)
        for override in queryset.select_related("tenant"):
            tenant_entitlement_override_delete(override=override, actor=actor)


# --- Manual credits and discounts: granted through billing.adjustments, never edited ---------------


class HasBalanceFilter(admin.SimpleListFilter):
    title = "balance"
    parameter_name = "balance"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("left", "Something left"), ("used", "Used up")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[TenantCredit]) -> QuerySet[TenantCredit]:
        if self.value() == "left":
            return queryset.filter(remaining__gt=0)
        if self.value() == "used":
            return queryset.filter(remaining=0)
        return queryset


@admin.register(TenantCredit)
class TenantCreditAdmin(admin.ModelAdmin):
    """A credit is granted once (amount, currency, reason; who is recorded) and then only used up by invoices."""

    list_display = (
        "tenant",
        "amount_display",
        "remaining_display",
        "currency",
        "reason",
        "created_by_label",
        "created_at",
    )
    list_filter = (HasBalanceFilter, "currency", "created_at")
    search_fields = ("tenant__slug", "tenant__name", "reason", "created_by_label")
    autocomplete_fields = ("tenant",)
    list_select_related = ("tenant",)
    date_hierarchy = "created_at"
    fields = ("tenant", "amount", "currency", "reason", "remaining", "created_by_label", "created_at")
    readonly_fields = ("remaining", "created_by_label", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: TenantCredit | None = None) -> Any:
        return ("tenant", "amount", "currency", "reason", *self.readonly_fields) if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # invoices used it: the history stays

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, credit: TenantCredit) -> str:
        return _amount(credit.amount)

    @admin.display(description="remaining", ordering="remaining")
    def remaining_display(self, credit: TenantCredit) -> str:
        return _amount(credit.remaining)

    def save_model(self, request: HttpRequest, obj: TenantCredit, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable
        saved = credit_grant(
            tenant=obj.tenant,
            amount=obj.amount,
            currency=obj.currency,
            reason=obj.reason,
            actor=Actor.for_staff(request.user),
        )
        obj.pk, obj.remaining = saved.pk, saved.remaining


@admin.register(TenantDiscount)
class TenantDiscountAdmin(admin.ModelAdmin):
    """A discount is granted once; staff may end it early (action "End the selected discounts")."""

    list_display = ("tenant", "label", "cycles_applied", "active", "reason", "created_by_label", "created_at")
    list_filter = ("active", "kind", "currency", "created_at")
    search_fields = ("tenant__slug", "tenant__name", "reason", "created_by_label")
    autocomplete_fields = ("tenant",)
    list_select_related = ("tenant",)
    date_hierarchy = "created_at"
    fields = (
        "tenant",
        "kind",
        "percent",
        "amount",
        "currency",
        "duration_cycles",
        "reason",
        "cycles_applied",
        "active",
        "created_by_label",
        "created_at",
    )
    readonly_fields = ("cycles_applied", "active", "created_by_label", "created_at")
    actions = ("end_discounts",)

    def get_readonly_fields(self, request: HttpRequest, obj: TenantDiscount | None = None) -> Any:
        return self.fields if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # end it instead: invoices show what it took

    def save_model(self, request: HttpRequest, obj: TenantDiscount, form: Any, change: bool) -> None:
        if change:
            return
        saved = discount_grant(
            tenant=obj.tenant,
            kind=obj.kind,
            percent=obj.percent,
            amount=obj.amount,
            currency=obj.currency,
            duration_cycles=obj.duration_cycles,
            reason=obj.reason,
            actor=Actor.for_staff(request.user),
        )
        obj.pk = saved.pk

    @admin.action(description="End the selected discounts")
    def end_discounts(self, request: HttpRequest, queryset: QuerySet[TenantDiscount]) -> None:
        actor, ended = Actor.for_staff(request.user), 0
        for discount in queryset.filter(active=True):
            discount_end(discount=discount, actor=actor)
            ended += 1
        self.message_user(request, f"{ended} discount{'s' if ended != 1 else ''} ended.", messages.SUCCESS)


# --- Subscriptions, invoices, payments: read-only rows; changes only through the services ---------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by `billing.subscriptions`, `billing.lifecycle` and `billing.payments`."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "tenant",
        "plan",
        "billing_cycle",
        "currency",
        "status",
        "current_period_end",
        "cancel_at_period_end",
        "cancelled_at",
        "provider_subscription_id",
    )
    list_filter = ("status", "plan", "billing_cycle", "currency", "cancel_at_period_end")
    search_fields = ("tenant__slug", "tenant__name")
    list_select_related = ("tenant", "plan")


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ("description", "quantity", "unit_amount", "amount", "is_proration")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ("amount", "status", "method", "failure_reason", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "tenant",
        "status",
        "total_display",
        "currency",
        "issued_at",
        "due_at",
        "paid_at",
        "next_payment_attempt_at",
    )
    search_fields = ("number", "tenant__slug", "tenant__name")
    list_select_related = ("tenant",)
    inlines = [InvoiceLineInline, PaymentInline]
    list_filter = ("status", "currency", "buyer_country", ("next_payment_attempt_at", admin.EmptyFieldListFilter))
    actions = ["mark_paid", "mark_failed"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None  # the change list (and its actions) yes; editing a row no

    @admin.display(description="total", ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return _amount(invoice.total)

    def _record(self, request: HttpRequest, queryset: QuerySet[Invoice], *, succeeded: bool) -> None:
        actor, done = Actor.for_staff(request.user), []
        for invoice in queryset.order_by("id"):
            try:
                billing_backend().record_payment(invoice=invoice, succeeded=succeeded, actor=actor)
            except ApplicationError as error:
                self.message_user(request, f"{invoice.number}: {error.detail}", messages.ERROR)
            else:
                done.append(invoice.number)
        if done:
            outcome = "paid" if succeeded else "failed"
            self.message_user(request, f"Recorded a {outcome} payment for {', '.join(done)}.", messages.SUCCESS)

    @admin.action(description="Mark selected invoices paid (tenant becomes active at once)")
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._record(request, queryset, succeeded=True)

    @admin.action(description="Record a failed payment (subscription becomes past due)")
    def mark_failed(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._record(request, queryset, succeeded=False)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "amount", "status", "method", "failure_reason", "created_at")
    list_filter = ("status", "failure_reason")
    search_fields = ("invoice__number", "invoice__tenant__slug")
    list_select_related = ("invoice",)


@admin.register(OverageRecord)
class OverageRecordAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "meter", "quantity", "timestamp", "invoice", "identifier")
    list_filter = ("meter", ("invoice", admin.EmptyFieldListFilter), "timestamp")
    search_fields = ("tenant__slug", "tenant__name", "identifier", "invoice__number")
    list_select_related = ("tenant", "invoice")
    date_hierarchy = "timestamp"


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    """Cards on file (local backend): set by the customer in the portal; the number is never stored."""

    list_display = ("tenant", "label", "expiry", "decline_code", "updated_at")
    list_filter = ("brand", "decline_code")
    search_fields = ("tenant__slug", "tenant__name", "last4")
    list_select_related = ("tenant",)


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    """Tax by buyer country; saves and deletes go through `billing.tax` (audited). See docs/billing.md, Tax."""

    list_display = ("country", "name", "rate", "updated_at")
    list_filter = ("name",)
    search_fields = ("country", "name")

    def save_model(self, request: HttpRequest, obj: TaxRate, form: Any, change: bool) -> None:
        tax_rate_save(tax_rate=obj, actor=Actor.for_staff(request.user))

    def delete_model(self, request: HttpRequest, obj: TaxRate) -> None:
        tax_rate_delete(tax_rate=obj, actor=Actor.for_staff(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TaxRate]) -> None:
        actor = Actor.for_staff(request.user)
        for tax_rate in queryset:
            tax_rate_delete(tax_rate=tax_rate, actor=actor)


@admin.register(BillingProfile)
class BillingProfileAdmin(ReadOnlyAdmin):
    """Buyers' billing details: edited by the workspace in the portal (audited there)."""

    list_display = ("tenant", "legal_name", "country", "tax_id", "updated_at")
    list_filter = ("country",)
    search_fields = ("tenant__slug", "tenant__name", "legal_name", "tax_id")
    list_select_related = ("tenant",)
