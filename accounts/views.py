"""Joining a tenant: accepting an invitation, and the signup → portal sign-in hand-off."""

from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.handoff import handoff_token_redeem
from accounts.models import User
from accounts.services import invitation_accept, invitation_get_pending
from config.errors import ApplicationError, NotFound
from portal.errors import form_add_service_error
from portal.forms import InvitationAcceptForm
from tenants.context import TenantHttpRequest

BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: TenantHttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_get_pending(token=token)
    except NotFound as error:
        return render(request, "accounts/invitation_invalid.html", {"detail": error.detail}, status=404)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token, password=form.cleaned_data["password"], full_name=form.cleaned_data["full_name"]
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, f"Welcome to {request.tenant.name}!")
            return redirect("portal:dashboard")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"form": form, "invitation": invitation},
        status=400 if form.errors else 200,
    )


def login_handoff(request: TenantHttpRequest) -> HttpResponse:
    user_id = handoff_token_redeem(token=request.GET.get("token", ""), schema_name=request.tenant.schema_name)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        messages.info(request, "That sign-in link has expired. Please sign in with your email and password.")
        return redirect("account_login")
    login(request, user, backend=BACKEND)
    address = EmailAddress.objects.get_primary(user)
    if address is not None and not address.verified:
        address.send_confirmation(request, signup=True)
    messages.success(request, f"Welcome to {request.tenant.name}! Your trial has started.")
    return redirect("portal:dashboard")
