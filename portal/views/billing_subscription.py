"""Billing cycle change and reactivation, each behind a confirmation page (MANAGE_BILLING only).

A cycle change takes effect at the end of the current period (or the trial); reactivation starts
a cancelled subscription again, or pays what a past-due or suspended one owes with the card on
file. Both go through the billing backend; the services' refusals come back as messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.permissions import Permission
from audit.services import Actor
from billing.backends import billing_backend
from billing.models import CYCLE_MONTHS, BillingCycle, InvoiceStatus, PlanPrice, Subscription, SubscriptionStatus
from billing.selectors import invoice_list_of_tenant, payment_method_of_tenant, subscription_of_tenant
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import message_service_error
from tenants.context import TenantHttpRequest


@dataclass(frozen=True)
class CycleOption:
    cycle: str
    label: str
    price: PlanPrice | None
    is_current: bool

    @property
    def per_month(self) -> int | None:
        return round(self.price.amount / CYCLE_MONTHS[self.cycle]) if self.price else None


def _subscription_or_404(request: TenantHttpRequest) -> Subscription:
    subscription = subscription_of_tenant(tenant=request.tenant)
    if subscription is None:
        raise Http404
    return subscription


def _cycle_options(subscription: Subscription) -> list[CycleOption]:
    plan = subscription.scheduled_plan or subscription.plan
    current = subscription.scheduled_cycle or subscription.billing_cycle
    return [
        CycleOption(
            cycle, str(label), plan.price(billing_cycle=cycle, currency=subscription.currency), cycle == current
        )
        for cycle, label in BillingCycle.choices
    ]


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_cycle_change(request: TenantHttpRequest) -> HttpResponse:
    """GET: each cycle's price for the plan and when a change applies. POST `billing_cycle`: change it."""
    subscription = _subscription_or_404(request)
    if subscription.status == SubscriptionStatus.CANCELLED:
        messages.error(request, "A cancelled subscription cannot change cycle; reactivate it first.")
        return redirect("portal:billing")
    options = _cycle_options(subscription)
    if request.method == "POST":
        chosen = next((o for o in options if o.cycle == request.POST.get("billing_cycle") and o.price), None)
        if chosen is None or chosen.is_current:
            messages.error(request, "Choose a billing cycle other than the current one.")
            return redirect("portal:billing_cycle_change")
        backend = billing_backend()
        if backend.has_hosted_checkout and backend.checkout_needed(tenant=request.tenant):
            messages.error(request, "Subscribe first; you can then change the billing cycle.")
            return redirect("portal:billing")
        try:
            backend.change_plan(
                tenant=request.tenant,
                plan=subscription.plan,
                billing_cycle=chosen.cycle,
                actor=Actor.for_user(request.user),
            )
        except ApplicationError as error:
            message_service_error(request, error)
            return redirect("portal:billing_cycle_change")
        when = subscription.current_period_end.strftime("%Y-%m-%d")
        messages.success(request, f"You will be billed {chosen.label.lower()} from {when}.")
        return redirect("portal:billing")
    context = {"subscription": subscription, "options": options}
    return render(request, "portal/billing_cycle.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_reactivate(request: TenantHttpRequest) -> HttpResponse:
    """GET: what reactivating does (and costs). POST: reactivate."""
    subscription = _subscription_or_404(request)
    if subscription.status not in (SubscriptionStatus.CANCELLED, SubscriptionStatus.PAST_DUE):
        messages.info(request, "Your subscription is running; there is nothing to reactivate.")
        return redirect("portal:billing")
    if request.method == "POST":
        try:
            billing_backend().reactivate(tenant=request.tenant, actor=Actor.for_user(request.user))
        except ApplicationError as error:
            message_service_error(request, error)
            return redirect("portal:billing_reactivate")
        messages.success(request, "Your subscription is active again.")
        return redirect("portal:billing")
    open_invoices = list(invoice_list_of_tenant(tenant=request.tenant).filter(status=InvoiceStatus.OPEN))
    context = {
        "subscription": subscription,
        "price": subscription.plan.price(billing_cycle=subscription.billing_cycle, currency=subscription.currency),
        "open_invoices": open_invoices,
        "amount_due": sum(invoice.total for invoice in open_invoices),
        "card": payment_method_of_tenant(tenant=request.tenant),
        "cards_supported": settings.BILLING_BACKEND == "local",
    }
    return render(request, "portal/billing_reactivate.html", context)
