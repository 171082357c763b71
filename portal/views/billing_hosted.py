"""Billing on the provider's hosted pages (BILLING_BACKEND=stripe): Checkout and the customer portal.

Both are POSTs that redirect the browser to a page Stripe made for this tenant; Stripe sends
the customer back to the billing page. With a backend without hosted pages they are 404s.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import Permission
from audit.services import Actor
from billing.backends import BillingBackend, billing_backend
from billing.models import BillingCycle, Plan
from billing.selectors import plan_get, subscription_of_tenant
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import message_service_error
from tenants.context import TenantHttpRequest
from tenants.models import Tenant


def hosted_billing_context(tenant: Tenant) -> dict[str, Any]:
    """For portal/billing.html: whether to offer Stripe Checkout / the customer portal."""
    backend = billing_backend()
    if not backend.has_hosted_checkout:
        return {"hosted_checkout": False}
    return {"hosted_checkout": True, "checkout_needed": backend.checkout_needed(tenant=tenant)}


def _billing_url(request: TenantHttpRequest) -> str:
    return request.build_absolute_uri(reverse("portal:billing"))


def checkout_redirect(request: TenantHttpRequest, backend: BillingBackend, plan: Plan) -> HttpResponse:
    """Send the browser to Checkout for `plan` (in the current cycle), or back with the reason."""
    subscription = subscription_of_tenant(tenant=request.tenant)
    billing_url = _billing_url(request)
    try:
        url = backend.checkout_url(
            tenant=request.tenant,
            plan=plan,
            billing_cycle=subscription.billing_cycle if subscription else BillingCycle.MONTHLY,
            success_url=f"{billing_url}?checkout=success",
            cancel_url=f"{billing_url}?checkout=cancelled",
            actor=Actor.for_user(request.user),
        )
    except ApplicationError as error:
        message_service_error(request, error)
        return redirect("portal:billing")
    return redirect(url)


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def billing_checkout(request: TenantHttpRequest, plan_code: str) -> HttpResponse:
    backend = billing_backend()
    plan = plan_get(code=plan_code)
    if not backend.has_hosted_checkout or plan is None or not plan.is_public:
        raise Http404
    return checkout_redirect(request, backend, plan)


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def billing_payment_portal(request: TenantHttpRequest) -> HttpResponse:
    backend = billing_backend()
    if not backend.has_hosted_checkout:
        raise Http404
    try:
        url = backend.payment_method_url(tenant=request.tenant, return_url=_billing_url(request))
    except ApplicationError as error:
        message_service_error(request, error)
        return redirect("portal:billing")
    return redirect(url)
