"""The catalog and what each tenant holds beyond its plan (public schema).

Plans, prices and add-ons are data that staff edit in admin, never constants in code. What a
tenant may do is computed from them by `billing.entitlements`, the one place that answers it.
Rows that belong to a tenant (`TenantAddOn`, `TenantEntitlementOverride`) are read only through
selectors that require the tenant, and written only through `billing.services`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


class Currency(models.TextChoices):
    USD = "USD", "US dollar"
    EUR = "EUR", "Euro"
    SAR = "SAR", "Saudi riyal"


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUAL = "annual", "Annual"


# Months billed per cycle (what a cycle's price is compared against for its discount).
CYCLE_MONTHS: dict[str, int] = {BillingCycle.MONTHLY: 1, BillingCycle.QUARTERLY: 3, BillingCycle.ANNUAL: 12}


class Limit(models.TextChoices):
    """The metered limits a plan sets. In `limits` JSON, `null` means unlimited."""

    AGENTS = "agents", "agents"
    API_CALLS_PER_MONTH = "api_calls_per_month", "API calls per month"
    CHAT_MESSAGES_PER_MONTH = "chat_messages_per_month", "chat messages per month"
    TOKENS_PER_MONTH = "tokens_per_month", "model tokens per month"
    TEAM_MEMBERS = "team_members", "team members"
    KNOWLEDGE_STORAGE_BYTES = "knowledge_storage_bytes", "bytes of knowledge storage"
    REQUESTS_PER_MINUTE = "requests_per_minute", "API requests per minute"
    BURST = "burst", "API requests in a burst"


# The API rate limiter's inputs: always finite.
RATE_LIMITS = frozenset({Limit.REQUESTS_PER_MINUTE, Limit.BURST})


class Feature(models.TextChoices):
    """Feature gates. Code asks `entitlement_has_feature(…, Feature.X)`, never which plan a tenant is on."""

    PORTAL_ANALYTICS = "portal_analytics", "Portal analytics"
    EMAIL_SUPPORT = "email_support", "Email support"
    WEBHOOKS = "webhooks", "Webhooks"
    CUSTOM_DOMAIN = "custom_domain", "Custom domain"
    MULTI_LANGUAGE = "multi_language", "Multi-language"
    ADVANCED_ANALYTICS = "advanced_analytics", "Advanced analytics"
    OVERAGE_BILLING = "overage_billing", "Overage billing"
    SSO = "sso", "Single sign-on"
    REMOVE_BRANDING = "remove_branding", "Remove platform branding"
    CUSTOM_LIMITS = "custom_limits", "Custom limits"
    AUDIT_EXPORT = "audit_export", "Audit export"
    LEAD_CAPTURE = "lead_capture", "Lead capture"


def validate_limits(value: Any) -> None:
    """A plan's or an override's limits: `{limit: non-negative int or null (unlimited)}`, known limits only.

    The rate limits (requests per minute, burst) are at least 1 and never unlimited.
    """
    if not isinstance(value, dict):
        raise ValidationError("Limits must be a JSON object.")
    unknown = sorted(set(value) - set(Limit.values))
    if unknown:
        raise ValidationError(f"Unknown limits: {', '.join(unknown)}. Known: {', '.join(Limit.values)}.")
    for name, amount in value.items():
        if name in RATE_LIMITS:
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
                raise ValidationError(f"Limit {name} must be a whole number of 1 or more (a rate cannot be unlimited).")
        elif amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
            raise ValidationError(f"Limit {name} must be a whole number of 0 or more, or null for unlimited.")


def validate_complete_limits(value: Any) -> None:
    """A plan states every limit explicitly (null for unlimited): a forgotten key never means unlimited."""
    validate_limits(value)
    missing = [name for name in Limit.values if name not in value]
    if missing:
        raise ValidationError(f"Missing limits: {', '.join(missing)} (use null for unlimited).")


def validate_limit_increments(value: Any) -> None:
    """An add-on's increments: `{limit: positive int}` (an add-on cannot grant "unlimited")."""
    if not isinstance(value, dict):
        raise ValidationError("Limit increments must be a JSON object.")
    validate_limits(value)
    if any(amount is None or amount < 1 for amount in value.values()):
        raise ValidationError("Each limit increment must be a whole number of 1 or more.")


def validate_features(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Features must be a JSON list of feature codes.")
    unknown = sorted(set(value) - set(Feature.values))
    if unknown:
        raise ValidationError(f"Unknown features: {', '.join(unknown)}. Known: {', '.join(Feature.values)}.")
    if len(set(value)) != len(value):
        raise ValidationError("A feature is listed twice.")


class Plan(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True)
    limits = models.JSONField(
        default=dict,
        validators=[validate_complete_limits],
        help_text="Every limit, as a whole number or null for unlimited.",
    )
    features = models.JSONField(default=list, blank=True, validators=[validate_features])
    sla = models.CharField(max_length=16, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_public = models.BooleanField(default=True, help_text="Shown on the pricing page, at signup and in the API.")

    class Meta:
        ordering = ("sort_order", "code")

    def __str__(self) -> str:
        return self.name

    def price(self, *, billing_cycle: str, currency: str) -> PlanPrice | None:
        """From prefetched `prices` when the selector prefetched them (no query per plan)."""
        return next((p for p in self.prices.all() if (p.billing_cycle, p.currency) == (billing_cycle, currency)), None)

    @property
    def monthly_price(self) -> float | None:
        """The monthly list price in US dollars (pricing pages and signup), or None if it has none."""
        price = self.price(billing_cycle=BillingCycle.MONTHLY, currency=Currency.USD)
        return price.amount / 100 if price else None


class PlanPrice(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    billing_cycle = models.CharField(max_length=16, choices=BillingCycle.choices)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveIntegerField(help_text="Price per billing cycle in minor units (cents, halalas).")

    class Meta:
        ordering = ("plan", "currency", "billing_cycle")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "billing_cycle", "currency"], name="one_price_per_plan_cycle_currency"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.get_billing_cycle_display().lower()} {self.amount / 100:.2f} {self.currency}"


class OverageMeter(models.TextChoices):
    """Metered usage a plan that allows overage bills beyond its monthly limit."""

    API_CALLS = "api_calls", "API calls"
    CHAT_MESSAGES = "chat_messages", "chat messages"
    TOKENS = "tokens", "model tokens"


class PlanOveragePrice(models.Model):
    """What a plan charges for usage beyond its limit: `amount` per started package of `package_size` units."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="overage_prices")
    meter = models.CharField(max_length=16, choices=OverageMeter.choices)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveIntegerField(help_text="Price per package in minor units (cents, halalas).")
    package_size = models.PositiveIntegerField(
        default=1_000, validators=[MinValueValidator(1)], help_text="Units per package, e.g. 1,000 API calls."
    )

    class Meta:
        ordering = ("plan", "meter", "currency")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "meter", "currency"], name="one_overage_price_per_plan_meter_currency"
            )
        ]
        verbose_name = "overage price"

    def __str__(self) -> str:
        return (
            f"{self.plan} {OverageMeter(self.meter).label} {self.amount / 100:.2f} {self.currency} "
            f"per {self.package_size:,}"
        )


class AddOn(models.Model):
    """A module bought per tenant on top of its plan: grants features and/or raises limits (× quantity)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=255, blank=True)
    features = models.JSONField(default=list, blank=True, validators=[validate_features])
    limit_increments = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_limit_increments],
        help_text='Added per unit of quantity, e.g. {"agents": 10}.',
    )
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_public = models.BooleanField(
        default=True, help_text="Offered to tenants. Tenants who already have a retired add-on keep it."
    )

    class Meta:
        ordering = ("sort_order", "code")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.features and not self.limit_increments:
            raise ValidationError("An add-on must grant at least one feature or limit increment.")


class AddOnPrice(models.Model):
    """The monthly price of one unit of an add-on; it is billed on the subscription's cycle."""

    add_on = models.ForeignKey(AddOn, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveIntegerField(help_text="Price per month in minor units (cents, halalas).")

    class Meta:
        ordering = ("add_on", "currency")
        constraints = [models.UniqueConstraint(fields=["add_on", "currency"], name="one_price_per_add_on_currency")]

    def __str__(self) -> str:
        return f"{self.add_on} {self.amount / 100:.2f} {self.currency}/month"


class TenantAddOn(models.Model):
    """One add-on held by one tenant. Deactivated rather than deleted, so the history stays."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="add_ons")
    add_on = models.ForeignKey(AddOn, on_delete=models.PROTECT, related_name="tenant_add_ons")
    quantity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("tenant", "add_on")
        constraints = [models.UniqueConstraint(fields=["tenant", "add_on"], name="one_row_per_tenant_add_on")]
        verbose_name = "tenant add-on"

    def __str__(self) -> str:
        return f"{self.add_on} × {self.quantity}"


class TenantEntitlementOverride(models.Model):
    """Staff's exception for one tenant: limits set outright (beating plan and add-ons) and extra features.

    Immutable once made: to change one, delete it and add another (both are audited).
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="entitlement_overrides")
    limits = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_limits],
        help_text='Limits to set, e.g. {"agents": 40, "team_members": null} (null: unlimited).',
    )
    features = models.JSONField(default=list, blank=True, validators=[validate_features])
    reason = models.CharField(max_length=255)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tenant", "created_at", "id")

    def __str__(self) -> str:
        return f"Override for {self.tenant}: {self.reason}"

    def clean(self) -> None:
        if not self.limits and not self.features:
            raise ValidationError("An override must set at least one limit or feature.")


# --- Subscriptions and invoices (the local billing backend's own records) -----------------------


class SubscriptionStatus(models.TextChoices):
    """Mirrors the billing-relevant tenant statuses (`Tenant.status` moves through `tenant_transition`)."""

    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELLED = "cancelled", "Cancelled"


class Subscription(models.Model):
    """One tenant's subscription: what it pays for, in which cycle and currency, until when.

    Read only through `billing.selectors.subscription_of_tenant`; written only by `billing.subscriptions`.
    """

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    billing_cycle = models.CharField(max_length=16, choices=BillingCycle.choices, default=BillingCycle.MONTHLY)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.TRIALING)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    scheduled_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="scheduled_subscriptions"
    )
    scheduled_cycle = models.CharField(max_length=16, choices=BillingCycle.choices, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the subscription ended (empty while it runs; cleared on reactivation)."
    )
    provider_subscription_id = models.CharField(
        max_length=255,
        blank=True,
        help_text=(
            "The billing provider's subscription (Stripe) whose mirror this row is. While set, the provider "
            "decides periods, invoices and payments; the local lifecycle only sends reminders and suspends."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("tenant",)

    def __str__(self) -> str:
        return f"{self.tenant} on {self.plan} ({self.billing_cycle}, {self.status})"

    @property
    def is_provider_managed(self) -> bool:
        """Whether a billing provider (Stripe) holds this subscription (see `provider_subscription_id`)."""
        return bool(self.provider_subscription_id)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


class InvoiceNumberSequence(models.Model):
    """The last invoice number issued in a year: numbers are sequential per platform, without gaps."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    """Amounts in minor units of `currency`; `total = subtotal + tax`.

    The buyer's and seller's details and the tax decision are copied at issue (`billing.tax`), so a
    later change of the billing profile, a tax rate or the seller never rewrites an issued invoice.
    """

    number = models.CharField(max_length=32, unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="invoices")
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    subtotal = models.IntegerField(default=0)
    tax = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0, help_text="Percent.")
    tax_name = models.CharField(max_length=32, blank=True)
    tax_note = models.CharField(max_length=255, blank=True, help_text="e.g. the reverse-charge statement.")
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_address = models.TextField(blank=True)
    buyer_country = models.CharField(max_length=2, blank=True)
    buyer_tax_id = models.CharField(max_length=32, blank=True)
    seller_details = models.TextField(blank=True)
    next_payment_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the card on file is charged next (automatic collection, then the retry schedule).",
    )

    class Meta:
        ordering = ("-issued_at", "-id")

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField(default=1)
    unit_amount = models.IntegerField(help_text="Minor units; negative for a credit.")
    amount = models.IntegerField(help_text="quantity × unit amount, in minor units.")
    is_proration = models.BooleanField(default=False)

    class Meta:
        ordering = ("invoice", "id")

    def __str__(self) -> str:
        return self.description


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    amount = models.IntegerField()
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    method = models.CharField(
        max_length=64, blank=True, help_text='e.g. "Visa •••• 4242", or empty when staff recorded it.'
    )
    failure_reason = models.CharField(max_length=32, blank=True, help_text="e.g. card_declined, expired_card.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.invoice} {self.amount} {self.status}"


class TrialReminder(models.Model):
    """A trial-end reminder that was sent: one per subscription, trial end and days before it."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="trial_reminders")
    trial_ends_at = models.DateTimeField()
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "trial_ends_at", "days_before"], name="one_trial_reminder_per_day_and_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription.tenant}: {self.days_before} days before {self.trial_ends_at:%Y-%m-%d}"


class OverageRecord(models.Model):
    """Usage beyond a limit, reported by the usage meters; billed on the next renewal invoice.

    `identifier` is the reporter's idempotency key: a second record with the same one is ignored.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="overage_records")
    meter = models.CharField(max_length=16, choices=OverageMeter.choices)
    quantity = models.PositiveBigIntegerField()
    identifier = models.CharField(max_length=100)
    timestamp = models.DateTimeField(help_text="When the usage happened.")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="overage_records"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tenant", "timestamp", "id")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "identifier"], name="one_overage_record_per_identifier")
        ]
        indexes = [models.Index(fields=["tenant", "invoice", "timestamp"], name="overage_unbilled_idx")]

    def __str__(self) -> str:
        return f"{self.tenant} {self.quantity:,} {OverageMeter(self.meter).label} at {self.timestamp:%Y-%m-%d %H:%M}"


class CardBrand(models.TextChoices):
    VISA = "visa", "Visa"
    MASTERCARD = "mastercard", "Mastercard"
    AMEX = "amex", "American Express"
    DISCOVER = "discover", "Discover"
    UNKNOWN = "unknown", "Card"


class PaymentMethod(models.Model):
    """The local backend's card on file: brand, last four digits and expiry. The number is never stored.

    `decline_code` says how charges of a test card that always fails end (Stripe's test-card
    semantics, derived from the number when it was entered); empty: charges succeed while the card
    has not expired.
    """

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="payment_method")
    brand = models.CharField(max_length=16, choices=CardBrand.choices)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    decline_code = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("tenant",)

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{CardBrand(self.brand).label} •••• {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"


class DunningNotice(models.TextChoices):
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    SUSPENDED = "suspended", "Workspace suspended"
    PAYMENT_RECOVERED = "payment_recovered", "Payment received after a failure"


def validate_country_code(value: str) -> None:
    if len(value) != 2 or not value.isascii() or not value.isalpha() or not value.isupper():
        raise ValidationError("Use the two-letter ISO 3166 country code in capitals, e.g. SA, DE or US.")


class TaxRate(models.Model):
    """The tax charged to buyers in one country (staff-editable); see `billing.tax` for the rule."""

    country = models.CharField(max_length=2, unique=True, validators=[validate_country_code])
    name = models.CharField(max_length=32, help_text='Shown on invoices, e.g. "VAT".')
    rate = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[MinValueValidator(0)], help_text="Percent, e.g. 15.00."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("country",)

    def __str__(self) -> str:
        return f"{self.country} {self.name} {self.rate} %"


class BillingProfile(models.Model):
    """Who a workspace's invoices are addressed to, and what decides their tax."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="billing_profile")
    legal_name = models.CharField(max_length=200)
    address = models.TextField(max_length=500)
    country = models.CharField(max_length=2, validators=[validate_country_code])
    tax_id = models.CharField(max_length=32, blank=True, help_text="VAT or tax registration number, if any.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("tenant",)

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.country})"


# --- Staff's credits and discounts ---------------------------------------------------------------


class TenantCredit(models.Model):
    """Money staff grant a tenant: applied to its next invoices in `currency` until used up.

    Written only by `billing.adjustments`; `remaining` falls as invoices use it, never below 0.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="credits")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    amount = models.PositiveIntegerField(validators=[MinValueValidator(1)], help_text="Minor units (cents, halalas).")
    remaining = models.PositiveIntegerField(help_text="Minor units not yet applied to an invoice.")
    reason = models.CharField(max_length=255)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tenant", "created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("amount")), name="credit_remaining_lte_amount"
            )
        ]
        verbose_name = "credit"

    def __str__(self) -> str:
        return f"{self.tenant}: {self.amount / 100:.2f} {self.currency} ({self.remaining / 100:.2f} left)"


class CreditApplication(models.Model):
    """How much of one credit one invoice used (the invoice shows their sum as "Credit applied")."""

    credit = models.ForeignKey(TenantCredit, on_delete=models.CASCADE, related_name="applications")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="credit_applications")
    amount = models.PositiveIntegerField(help_text="Minor units.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("credit", "id")

    def __str__(self) -> str:
        return f"{self.invoice}: {self.amount / 100:.2f}"


class DiscountKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Fixed amount off"


class TenantDiscount(models.Model):
    """Staff's discount on the subscription lines (plan and add-ons) of a tenant's renewal invoices.

    Applies to `duration_cycles` renewal invoices (empty: forever) while `active`. A fixed amount
    applies only to invoices in its `currency` and never takes the subscription lines below zero.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="discounts")
    kind = models.CharField(max_length=8, choices=DiscountKind.choices)
    percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="For a percent discount, e.g. 20.00."
    )
    amount = models.PositiveIntegerField(
        null=True, blank=True, help_text="For a fixed discount: minor units off each renewal invoice."
    )
    currency = models.CharField(max_length=3, choices=Currency.choices, blank=True, help_text="For a fixed discount.")
    duration_cycles = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Renewal invoices; empty: forever."
    )
    cycles_applied = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True, help_text="Staff end a discount early by ending it.")
    reason = models.CharField(max_length=255)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("tenant", "created_at", "id")
        verbose_name = "discount"

    def __str__(self) -> str:
        return f"{self.tenant}: {self.label}"

    @property
    def off_label(self) -> str:
        """What comes off, e.g. "20 % off" or "10.00 USD off"."""
        if self.kind == DiscountKind.FIXED and self.amount is not None:
            return f"{self.amount / 100:.2f} {self.currency} off"
        return f"{self.percent.normalize():f} % off" if self.percent is not None else ""

    @property
    def label(self) -> str:
        span = "forever" if self.duration_cycles is None else f"for {self.duration_cycles} renewals"
        return f"{self.off_label}, {span}"

    @property
    def is_exhausted(self) -> bool:
        return self.duration_cycles is not None and self.cycles_applied >= self.duration_cycles

    def clean(self) -> None:
        if self.kind == DiscountKind.PERCENT:
            if self.percent is None or not 0 < self.percent <= 100:
                raise ValidationError({"percent": "A percent discount needs a percent above 0 and at most 100."})
            if self.amount is not None:
                raise ValidationError({"amount": "A percent discount has no amount."})
        elif self.kind == DiscountKind.FIXED:
            if not self.amount or not self.currency:
                raise ValidationError({"amount": "A fixed discount needs an amount of 1 or more and a currency."})
            if self.percent is not None:
                raise ValidationError({"percent": "A fixed discount has no percent."})
