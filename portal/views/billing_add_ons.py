"""Billing → Add-ons: the marketplace. Everyone with VIEW_PORTAL sees the catalog and what the
workspace holds; buying and removing (each behind a confirmation page) need MANAGE_BILLING."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.permissions import Permission, role_has
from audit.services import Actor
from billing.add_ons import MAX_ADD_ON_QUANTITY
from billing.backends import billing_backend
from billing.models import SubscriptionStatus
from billing.proration import minor_units, period_fraction_remaining
from billing.selectors import AddOnOffer, add_on_offers_for_tenant, subscription_of_tenant
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import message_service_error
from tenants.context import TenantHttpRequest


def _offer_or_404(request: TenantHttpRequest, code: str) -> AddOnOffer:
    offer = next((o for o in add_on_offers_for_tenant(tenant=request.tenant) if o.add_on.code == code), None)
    if offer is None:
        raise Http404
    return offer


@permission_required(Permission.VIEW_PORTAL)
def billing_add_ons(request: TenantHttpRequest) -> HttpResponse:
    context = {
        "offers": add_on_offers_for_tenant(tenant=request.tenant),
        "subscription": subscription_of_tenant(tenant=request.tenant),
        "can_manage": role_has(request.user.role, Permission.MANAGE_BILLING),
    }
    return render(request, "portal/billing_add_ons.html", context)


def _charge_now(request: TenantHttpRequest, offer: AddOnOffer, quantity: int) -> int | None:
    """What buying would charge at once (the rest of the period), or None when nothing is charged now."""
    subscription = subscription_of_tenant(tenant=request.tenant)
    per_cycle = offer.amount_per_cycle
    if subscription is None or per_cycle is None:
        return None
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE):
        return None
    fraction = period_fraction_remaining(
        period_start=subscription.current_period_start, period_end=subscription.current_period_end, at=timezone.now()
    )
    return minor_units(Decimal(per_cycle * quantity) * fraction)


def _quantity(request: TenantHttpRequest) -> int:
    raw = request.POST.get("quantity") or request.GET.get("quantity") or "1"
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_ADD_ON_QUANTITY else 1


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_add_on_buy(request: TenantHttpRequest, code: str) -> HttpResponse:
    """GET: what buying costs now and per cycle. POST: buy it."""
    offer, quantity = _offer_or_404(request, code), _quantity(request)
    if request.method == "POST":
        try:
            _, invoice = billing_backend().purchase_add_on(
                tenant=request.tenant, add_on=offer.add_on, quantity=quantity, actor=Actor.for_user(request.user)
            )
        except ApplicationError as error:
            message_service_error(request, error)
            return redirect("portal:billing_add_ons")
        done = f"{offer.add_on.name} is active now."
        messages.success(
            request, f"{done} Invoice {invoice.number} charges the rest of this period." if invoice else done
        )
        return redirect("portal:billing_add_ons")
    subscription = subscription_of_tenant(tenant=request.tenant)
    context = {
        "offer": offer,
        "quantity": quantity,
        "charge_now": _charge_now(request, offer, quantity),
        # Stripe adds the prorated rest of the period to the next invoice instead of charging it now.
        "prorated_on_next_invoice": subscription is not None and subscription.is_provider_managed,
        "per_cycle": offer.amount_per_cycle * quantity if offer.amount_per_cycle is not None else None,
        "subscription": subscription,
    }
    return render(request, "portal/billing_add_on_buy.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_add_on_remove(request: TenantHttpRequest, code: str) -> HttpResponse:
    offer = _offer_or_404(request, code)
    if request.method == "POST":
        try:
            billing_backend().cancel_add_on(
                tenant=request.tenant, add_on=offer.add_on, actor=Actor.for_user(request.user)
            )
        except ApplicationError as error:
            message_service_error(request, error)
        else:
            messages.success(request, f"{offer.add_on.name} was removed.")
        return redirect("portal:billing_add_ons")
    return render(request, "portal/billing_add_on_remove.html", {"offer": offer})
