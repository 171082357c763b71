"""Portal: create a publishable key for the website widget and show the snippet to paste.
Owners and admins (MANAGE_SETTINGS), like every API key."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from accounts.permissions import Permission
from api.principal import ApiPrincipal
from apikeys.services import api_key_create_publishable
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import form_add_service_error
from portal.submissions import submission_token_claim, submission_token_release
from tenants.context import TenantHttpRequest
from widget.forms import WidgetKeyForm


def embed_snippet(*, host: str, agent_id: str, key: str, secure: bool) -> str:
    scheme = "https" if secure else "http"
    return f'<script src="{scheme}://{host}/widget.js" data-agent="{agent_id}" data-key="{key}" async></script>'


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def widget_key_page(request: TenantHttpRequest) -> HttpResponse:
    form = WidgetKeyForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not submission_token_claim(data["submission"]):
            messages.info(request, "That form was already sent. The key is in the list below.")
            return redirect("portal:api_keys")
        principal = ApiPrincipal.for_user(request.user)
        try:
            issued = api_key_create_publishable(
                tenant=request.tenant,
                name=data["name"],
                agent_id=data["agent"],
                allowed_origins=data["allowed_origins"],
                actor=principal.actor,
                granter_scopes=principal.scopes,
            )
        except ApplicationError as error:
            submission_token_release(data["submission"])
            form_add_service_error(form, error)
            status = error.status
        else:
            snippet = embed_snippet(
                host=request.get_host(), agent_id=issued.key.agent_id, key=issued.secret, secure=request.is_secure()
            )
            response = render(
                request,
                "widget/key_created.html",
                {"issued": issued, "key": issued.key, "snippet": snippet},
                status=201,
            )
            add_never_cache_headers(response)
            return response
    elif form.errors:
        status = 400
    return render(request, "widget/key_new.html", {"form": form}, status=status)
