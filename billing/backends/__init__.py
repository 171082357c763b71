"""The billing backend interface, chosen by `settings.BILLING_BACKEND`.

Views, admin actions and provisioning ask `billing_backend()` to change a subscription; each
backend does it its own way (`local`: the product's own periods, proration and invoices; a
`stripe` backend will drive Stripe Billing and mirror it back). Reads never go through a
backend: `billing.selectors` serve the stored state whatever backend wrote it.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit.services import Actor
from billing.models import Invoice, Payment, Plan, Subscription
from tenants.models import Tenant


class BillingBackend(Protocol):
    def start_trial(self, *, tenant: Tenant, actor: Actor) -> Subscription: ...

    def start_paid(self, *, tenant: Tenant, billing_cycle: str, actor: Actor) -> Subscription: ...

    def change_plan(self, *, tenant: Tenant, plan: Plan, billing_cycle: str, actor: Actor) -> Subscription:
        """Upgrade now (prorated) or downgrade at period end; a cycle change applies at period end."""
        ...

    def cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription: ...

    def undo_cancel(self, *, tenant: Tenant, actor: Actor) -> Subscription: ...

    def reactivate(self, *, tenant: Tenant, actor: Actor) -> Subscription: ...

    def record_payment(self, *, invoice: Invoice, succeeded: bool, actor: Actor) -> Payment: ...


def billing_backend() -> BillingBackend:
    """The configured backend. Raises `ImproperlyConfigured` for one that does not exist (yet)."""
    if settings.BILLING_BACKEND == "local":
        from billing.backends.local import LocalBillingBackend

        return LocalBillingBackend()
    raise ImproperlyConfigured(f"BILLING_BACKEND={settings.BILLING_BACKEND!r} is not available; use 'local'.")
