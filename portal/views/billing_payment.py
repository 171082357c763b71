"""The card on file (local backend) and paying an open invoice with it now.

Only roles with MANAGE_BILLING; the card number is marked sensitive so Django's error reports
never show it, and it goes straight to `payment_method_set`, which keeps only brand, last 4 and
expiry. With the Stripe backend cards live at Stripe, so these pages do not exist (404).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Permission
from audit.services import Actor
from billing.collection import invoice_charge_card
from billing.models import PaymentStatus
from billing.payment_methods import payment_method_remove, payment_method_set
from billing.selectors import invoice_list_of_tenant, payment_method_of_tenant
from config.errors import ApplicationError
from portal.access import permission_required
from portal.billing_forms import CardForm
from portal.errors import form_add_service_error, message_service_error
from tenants.context import TenantHttpRequest


def _local_backend_only() -> None:
    if settings.BILLING_BACKEND != "local":
        raise Http404


@sensitive_post_parameters("card_number")
@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_payment_method(request: TenantHttpRequest) -> HttpResponse:
    _local_backend_only()
    form = CardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = payment_method_set(tenant=request.tenant, actor=Actor.for_user(request.user), **form.cleaned_data)
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, f"{saved.label} is now the card on file.")
            return redirect("portal:billing")
    card = payment_method_of_tenant(tenant=request.tenant)
    return render(request, "portal/billing_payment_method.html", {"form": form, "card": card})


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def billing_payment_method_remove(request: TenantHttpRequest) -> HttpResponse:
    _local_backend_only()
    try:
        payment_method_remove(tenant=request.tenant, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, "The card was removed.")
    return redirect("portal:billing")


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def billing_invoice_pay(request: TenantHttpRequest, number: str) -> HttpResponse:
    """Charge the card on file for one of this workspace's open invoices now."""
    _local_backend_only()
    invoice = invoice_list_of_tenant(tenant=request.tenant).filter(number=number).first()
    if invoice is None:
        raise Http404
    try:
        payment = invoice_charge_card(invoice=invoice, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        if payment.status == PaymentStatus.SUCCEEDED:
            messages.success(request, f"Invoice {number} is paid. Thank you.")
        else:
            messages.error(request, f"{payment.method} was declined ({payment.failure_reason}). Try another card.")
    return redirect("portal:billing_invoice", number=number)
