"""The workspace's billing profile (who invoices are addressed to; it decides their tax)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.permissions import Permission
from audit.services import Actor
from billing.selectors import billing_profile_of_tenant
from billing.tax import billing_profile_set
from config.errors import ApplicationError
from portal.access import permission_required
from portal.billing_forms import BillingProfileForm
from portal.errors import form_add_service_error
from tenants.context import TenantHttpRequest

_FIELDS = ("legal_name", "address", "country", "tax_id")


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_BILLING)
def billing_profile(request: TenantHttpRequest) -> HttpResponse:
    profile = billing_profile_of_tenant(tenant=request.tenant)
    initial = {field: getattr(profile, field) for field in _FIELDS} if profile else {"legal_name": request.tenant.name}
    form = BillingProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            billing_profile_set(tenant=request.tenant, actor=Actor.for_user(request.user), **form.cleaned_data)
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, "Billing details saved. New invoices use them.")
            return redirect("portal:billing")
    return render(request, "portal/billing_profile.html", {"form": form, "profile": profile})
