"""The workspace's billing pages: plan, usage, plan changes with a proration preview, cancel/undo, invoices.

Anyone with VIEW_PORTAL may look; every change needs MANAGE_BILLING (the buttons are hidden
from other roles and their POSTs answer 403). Reachable while the workspace is suspended, so
the customer can see why and fix it (tenants.middleware allows the /billing/ prefix).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Permission, role_has
from accounts.selectors import team_seats_in_use
from audit.services import Actor
from billing.backends import billing_backend
from billing.entitlements import entitlements_for
from billing.models import Limit, Plan, PlanPrice, Subscription, SubscriptionStatus
from billing.selectors import (
    billing_profile_of_tenant,
    invoice_list_of_tenant,
    payment_method_of_tenant,
    plan_get,
    plan_list_public,
    subscription_of_tenant,
    tenant_add_on_list,
    tenant_credit_balance,
    tenant_discount_list_active,
)
from billing.subscriptions import (
    subscription_downgrade_check,
    subscription_proration_preview,
    subscription_scheduled_change_undo,
)
from config.errors import ApplicationError, DowngradeBlocked
from portal.access import permission_required
from portal.errors import message_service_error
from portal.views.billing_hosted import checkout_redirect, hosted_billing_context
from tenants.context import TenantHttpRequest


@dataclass(frozen=True)
class PlanOption:
    plan: Plan
    price: PlanPrice | None
    change: str  # "current", "upgrade", "downgrade" or "" (no price in this cycle and currency)


def _plan_options(subscription: Subscription | None) -> list[PlanOption]:
    plans = list(plan_list_public())
    if subscription is None:
        return [PlanOption(plan, None, "") for plan in plans]
    cycle, currency = subscription.billing_cycle, subscription.currency
    current_price = subscription.plan.price(billing_cycle=cycle, currency=currency)
    options = []
    for plan in plans:
        price = plan.price(billing_cycle=cycle, currency=currency)
        if plan.pk == subscription.plan_id:
            change = "current"
        elif price is None or current_price is None or price.amount == current_price.amount:
            change = ""
        else:
            change = "upgrade" if price.amount > current_price.amount else "downgrade"
        options.append(PlanOption(plan, price, change))
    return options


def _subscription_or_404(request: TenantHttpRequest) -> Subscription:
    subscription = subscription_of_tenant(tenant=request.tenant)
    if subscription is None:
        raise Http404
    return subscription


@permission_required(Permission.VIEW_PORTAL)
def billing(request: TenantHttpRequest) -> HttpResponse:
    subscription = subscription_of_tenant(tenant=request.tenant)
    limits = entitlements_for(tenant=request.tenant).limits
    usage = [
        {
            "limit": limit,
            "label": "knowledge storage" if limit == Limit.KNOWLEDGE_STORAGE_BYTES else Limit(limit).label,
            "allowed": allowed,
            # Only team seats are counted here yet; other limits show what the plan allows.
            "used": team_seats_in_use() if limit == Limit.TEAM_MEMBERS else None,
        }
        for limit, allowed in limits.items()
    ]
    trial_days_left = None
    if subscription is not None and subscription.status == SubscriptionStatus.TRIALING and subscription.trial_ends_at:
        trial_days_left = max(0, (subscription.trial_ends_at - timezone.now()).days)
    context = {
        "subscription": subscription,
        "trial_days_left": trial_days_left,
        "usage": usage,
        "options": _plan_options(subscription),
        "invoices": invoice_list_of_tenant(tenant=request.tenant),
        "profile": billing_profile_of_tenant(tenant=request.tenant),
        "credit_balance": tenant_credit_balance(tenant=request.tenant),
        "discounts": tenant_discount_list_active(tenant=request.tenant),
        "add_ons": tenant_add_on_list(tenant=request.tenant),
        **_card_context(request),
        **hosted_billing_context(request.tenant),
    }
    return render(request, "portal/billing.html", context)


def _card_context(request: TenantHttpRequest) -> dict[str, object]:
    """The card on file (local backend only) and whether this person may pay with it."""
    can_manage = role_has(request.user.role, Permission.MANAGE_BILLING)
    cards_supported = settings.BILLING_BACKEND == "local"
    card = payment_method_of_tenant(tenant=request.tenant) if cards_supported else None
    return {
        "can_manage": can_manage,
        "cards_supported": cards_supported,
        "card": card,
        "can_pay": can_manage and card is not None,
    }


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_change(request: TenantHttpRequest, plan_code: str) -> HttpResponse:
    """GET: what the change would do (proration, or what to reduce first). POST: make it."""
    subscription = _subscription_or_404(request)
    option = next((o for o in _plan_options(subscription) if o.plan.code == plan_code), None)
    plan = plan_get(code=plan_code)
    if option is None or plan is None or option.change not in ("upgrade", "downgrade"):
        raise Http404
    if request.method == "POST":
        backend = billing_backend()
        if backend.has_hosted_checkout and backend.checkout_needed(tenant=request.tenant):
            return checkout_redirect(request, backend, plan)  # no provider subscription to change yet
        try:
            backend.change_plan(
                tenant=request.tenant,
                plan=plan,
                billing_cycle=subscription.billing_cycle,
                actor=Actor.for_user(request.user),
            )
        except ApplicationError as error:
            message_service_error(request, error)
            return redirect("portal:billing_change", plan_code=plan_code)
        if option.change == "upgrade":
            messages.success(request, f"You are now on {plan.name}.")
        else:
            messages.success(request, f"You will move to {plan.name} at the end of the current period.")
        return redirect("portal:billing")
    blocked = None
    if option.change == "downgrade":
        try:
            subscription_downgrade_check(tenant=request.tenant, plan=plan)
        except DowngradeBlocked as error:
            blocked = [
                {**item, "label": Limit(item["limit"]).label, "excess": item["current_usage"] - item["allowed"]}
                for item in error.extra["reduce"]
            ]
    proration = None
    if option.change == "upgrade":
        proration = subscription_proration_preview(subscription=subscription, plan=plan, at=timezone.now())
    context = {"subscription": subscription, "option": option, "proration": proration, "blocked": blocked}
    return render(request, "portal/billing_change.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_cancel(request: TenantHttpRequest) -> HttpResponse:
    subscription = _subscription_or_404(request)
    if request.method == "POST":
        try:
            billing_backend().cancel(tenant=request.tenant, actor=Actor.for_user(request.user))
        except ApplicationError as error:
            message_service_error(request, error)
        else:
            messages.success(request, "Your subscription will end at the end of the current period.")
        return redirect("portal:billing")
    return render(request, "portal/billing_cancel.html", {"subscription": subscription})


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def billing_cancel_undo(request: TenantHttpRequest) -> HttpResponse:
    try:
        billing_backend().undo_cancel(tenant=request.tenant, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, "Your subscription will renew as usual.")
    return redirect("portal:billing")


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def billing_scheduled_change_undo(request: TenantHttpRequest) -> HttpResponse:
    # Not on `billing_backend()` yet: the local backend's scheduled change lives only in our row.
    try:
        subscription_scheduled_change_undo(tenant=request.tenant, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, "The scheduled change was dropped; your plan stays as it is.")
    return redirect("portal:billing")


@permission_required(Permission.VIEW_PORTAL)
def billing_invoice(request: TenantHttpRequest, number: str) -> HttpResponse:
    """A printable invoice; only this workspace's own (another's number is a 404)."""
    invoice = invoice_list_of_tenant(tenant=request.tenant).filter(number=number).first()
    if invoice is None:
        raise Http404
    context = {"invoice": invoice, "tenant": request.tenant, **_card_context(request)}
    return render(request, "portal/billing_invoice.html", context)
