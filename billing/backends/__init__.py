"""The billing backend interface, chosen by `settings.BILLING_BACKEND`.

Views, admin actions and provisioning ask `billing_backend()` to change a subscription; each
backend does it its own way (`local`: the product's own periods, proration and invoices;
`stripe`: drives Stripe Billing and mirrors it back, see the `stripe_billing` app). Reads never go through a
backend: `billing.selectors` serve the stored state whatever backend wrote it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit.services import Actor
from billing.models import AddOn, Invoice, Payment, Plan, Subscription, TenantAddOn
from tenants.models import Tenant


class BillingBackend(Protocol):
    def start_trial(self, *, tenant: Tenant, actor: Actor) -> Subscription: ...

    def start_paid(self, *, tenant: Tenant, billing_cycle: str, actor: Actor) -> Subscription: ...

    def change_plan(self, *, tenant: Tenant, plan: Plan, billing_cycle: str, actor: Actor) -> Subscription:
        """Upgrade now (prorated) or downgrade at period end; a cycle change applies at period end."""
        ...

    def cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription: ...

    def undo_cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription: ...

    def reactivate(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        """Start a cancelled subscription again, or pay what a past-due (suspended) one owes now."""
        ...

    def purchase_add_on(
        self, *, tenant: Tenant, add_on: AddOn, quantity: int, actor: Actor
    ) -> tuple[TenantAddOn, Invoice | None]:
        """Buy an add-on now (prorated to the period's end); returns the holding and the invoice, if any."""
        ...

    def cancel_add_on(self, *, tenant: Tenant, add_on: AddOn, actor: Actor) -> TenantAddOn:
        """Remove an add-on now."""
        ...

    def record_payment(self, *, invoice: Invoice, succeeded: bool, actor: Actor) -> Payment: ...

    def undo_scheduled_change(self, *, tenant: Tenant, actor: Actor) -> Subscription:
        """Drop a downgrade or cycle change scheduled for period end."""
        ...

    def report_metered_usage(
        self, *, tenant: Tenant, meter: str, quantity: int, identifier: str, timestamp: datetime
    ) -> None:
        """Bill `quantity` units of overage on `meter`; idempotent by `identifier`. The caller checks
        that the tenant's plan allows overage (`Feature.OVERAGE_BILLING`)."""
        ...

    # Whether customers subscribe and manage cards on the provider's hosted pages (Stripe Checkout
    # and customer portal); the portal then links there instead of its own forms.
    has_hosted_checkout: bool

    def checkout_url(
        self, *, tenant: Tenant, plan: Plan, billing_cycle: str, success_url: str, cancel_url: str, actor: Actor
    ) -> str:
        """Where the customer subscribes to `plan` (hosted backends only; `Conflict` otherwise)."""
        ...

    def checkout_needed(self, *, tenant: Tenant) -> bool:
        """Whether the tenant must go through checkout before its plan can be changed (hosted backends:
        no provider subscription yet, or a cancelled one)."""
        ...

    def payment_method_url(self, *, tenant: Tenant, return_url: str) -> str:
        """Where the customer manages payment methods (hosted backends only; `Conflict` otherwise)."""
        ...


def billing_backend() -> BillingBackend:
    """The configured backend. Raises `ImproperlyConfigured` for one that does not exist (yet)."""
    if settings.BILLING_BACKEND == "local":
        from billing.backends.local import LocalBillingBackend

        return LocalBillingBackend()
    if settings.BILLING_BACKEND == "stripe":
        from stripe_billing.backend import StripeBillingBackend

        return StripeBillingBackend()
    raise ImproperlyConfigured(
        f"BILLING_BACKEND={settings.BILLING_BACKEND!r} is not available; use 'local' or 'stripe'."
    )
