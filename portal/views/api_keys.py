"""API key management: list and create, rotate, revoke. Owners and admins (MANAGE_SETTINGS).

A new secret is rendered once, in the response to the POST that made it: never through a
redirect, a flash message, the session or a URL, and never cached by the browser.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from accounts.permissions import Permission
from api.principal import ApiPrincipal
from apikeys.models import ApiKey
from apikeys.selectors import api_key_get, api_key_list
from apikeys.services import IssuedApiKey, api_key_create, api_key_revoke, api_key_rotate
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import form_add_service_error, message_service_error
from portal.forms import ApiKeyCreateForm, ApiKeyRotateForm
from portal.submissions import submission_token_claim, submission_token_release
from tenants.context import TenantHttpRequest

KEYS_PER_PAGE = 50
STATUS_FILTERS = {"active": "Active", "expired": "Expired", "revoked": "Revoked", "all": "All"}
ALREADY_SUBMITTED = "That form was already sent, and its secret was shown once. If you did not save it, rotate the key."


def _key_or_404(request: TenantHttpRequest, key_id: str) -> ApiKey:
    key = api_key_get(tenant=request.tenant, key_id=key_id)
    if key is None:
        raise Http404
    return key


def _secret_page(request: TenantHttpRequest, issued: IssuedApiKey, *, rotated: bool) -> HttpResponse:
    response = render(
        request,
        "portal/api_key_secret.html",
        {"issued": issued, "key": issued.key, "rotated": rotated},
        status=200 if rotated else 201,
    )
    add_never_cache_headers(response)  # no copy in the HTTP cache or the back/forward history
    return response


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def api_keys(request: TenantHttpRequest) -> HttpResponse:
    principal = ApiPrincipal.for_user(request.user)
    form = ApiKeyCreateForm(request.POST if request.method == "POST" else None, offered_scopes=principal.scopes)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not submission_token_claim(data["submission"]):
            messages.info(request, ALREADY_SUBMITTED)
            return redirect("portal:api_keys")
        try:
            issued = api_key_create(
                tenant=request.tenant,
                name=data["name"],
                scopes=data["scopes"],
                expires_at=data["expires_at"],
                allowed_cidrs=data["allowed_cidrs"],
                signing_required=data["signing_required"],
                actor=principal.actor,
                granter_scopes=principal.scopes,
            )
        except ApplicationError as error:
            submission_token_release(data["submission"])
            form_add_service_error(form, error)
            status = error.status
        else:
            return _secret_page(request, issued, rotated=False)
    elif form.errors:
        status = 400
    key_status = request.GET.get("status", "active")
    if key_status not in STATUS_FILTERS:
        key_status = "active"
    keys = api_key_list(tenant=request.tenant, status=None if key_status == "all" else key_status)
    context = {
        "form": form,
        "page": Paginator(keys, KEYS_PER_PAGE).get_page(request.GET.get("page")),
        "key_status": key_status,
        "status_filters": STATUS_FILTERS,
    }
    return render(request, "portal/api_keys.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def api_key_rotation(request: TenantHttpRequest, key_id: str) -> HttpResponse:
    key = _key_or_404(request, key_id)
    form = ApiKeyRotateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        submission = form.cleaned_data["submission"]
        if not submission_token_claim(submission):
            messages.info(request, ALREADY_SUBMITTED)
            return redirect("portal:api_keys")
        principal = ApiPrincipal.for_user(request.user)
        try:
            issued = api_key_rotate(
                key=key,
                actor=principal.actor,
                overlap_seconds=form.cleaned_data["overlap_seconds"],
                granter_scopes=principal.scopes,
            )
        except ApplicationError as error:
            submission_token_release(submission)
            form_add_service_error(form, error)
            status = error.status
        else:
            return _secret_page(request, issued, rotated=True)
    elif form.errors:
        status = 400
    return render(request, "portal/api_key_rotate.html", {"key": key, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def api_key_revocation(request: TenantHttpRequest, key_id: str) -> HttpResponse:
    """GET asks for confirmation; POST revokes at once (the key stops working on every worker)."""
    key = _key_or_404(request, key_id)
    if request.method == "GET":
        return render(request, "portal/api_key_revoke.html", {"key": key})
    try:
        api_key_revoke(key=key, actor=ApiPrincipal.for_user(request.user).actor)
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"“{key.name}” was revoked. Calls using it are refused from now on.")
    return redirect("portal:api_keys")
