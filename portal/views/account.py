"""The signed-in user's own settings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.services import user_update_profile
from portal.forms import ProfileForm
from tenants.context import TenantHttpRequest


@login_required
def account_settings(request: TenantHttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        user_update_profile(user=request.user, full_name=form.cleaned_data["full_name"])
        messages.success(request, "Your profile was saved.")
        return redirect("portal:settings")
    return render(request, "portal/settings.html", {"form": form})
