"""The portal's Webhooks pages, for owners and admins (MANAGE_SETTINGS).

A signing secret is rendered once, in the response to the POST that made it (never through a
redirect, the session or a URL, and never cached), as on the API keys page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Permission
from audit.services import Actor
from billing.entitlements import entitlement_has_feature
from billing.models import Feature
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import form_add_service_error, message_service_error
from portal.submissions import submission_token_claim, submission_token_release
from tenants.context import TenantHttpRequest
from webhooks.forms import WebhookEndpointCreateForm, WebhookEndpointForm, WebhookRotateForm
from webhooks.models import WebhookEndpoint
from webhooks.selectors import webhook_delivery_list, webhook_endpoint_get, webhook_endpoint_list, webhook_event_get
from webhooks.services import (
    IssuedWebhookEndpoint,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
    webhook_event_replay,
)

DELIVERIES_PER_PAGE = 25
ALREADY_SUBMITTED = "That form was already sent, and its secret was shown once. If you did not save it, rotate it."


def _endpoint_or_404(request: TenantHttpRequest, endpoint_id: str) -> WebhookEndpoint:
    endpoint = webhook_endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404
    return endpoint


def _secret_page(request: TenantHttpRequest, issued: IssuedWebhookEndpoint, *, rotated: bool) -> HttpResponse:
    context = {"issued": issued, "endpoint": issued.endpoint, "rotated": rotated}
    response = render(request, "webhooks/secret.html", context, status=200 if rotated else 201)
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def webhooks_page(request: TenantHttpRequest) -> HttpResponse:
    """Endpoints, and the form that registers one."""
    form = WebhookEndpointCreateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not submission_token_claim(data["submission"]):
            messages.info(request, ALREADY_SUBMITTED)
            return redirect("portal:webhooks")
        try:
            issued = webhook_endpoint_create(
                tenant=request.tenant,
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
                is_enabled=data["is_enabled"],
                actor=Actor.for_user(request.user),
            )
        except ApplicationError as error:
            submission_token_release(data["submission"])
            form_add_service_error(form, error)
            status = error.status
        else:
            return _secret_page(request, issued, rotated=False)
    elif form.errors:
        status = 400
    context = {
        "form": form,
        "endpoints": webhook_endpoint_list(tenant=request.tenant),
        "has_feature": entitlement_has_feature(tenant=request.tenant, feature=Feature.WEBHOOKS),
    }
    return render(request, "webhooks/webhooks.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def webhook_endpoint_page(request: TenantHttpRequest, endpoint_id: str) -> HttpResponse:
    """One endpoint: edit it, and its delivery log with every attempt."""
    endpoint = _endpoint_or_404(request, endpoint_id)
    initial = {f: getattr(endpoint, f) for f in ("url", "description", "event_types", "is_enabled")}
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            webhook_endpoint_update(
                tenant=request.tenant, endpoint=endpoint, actor=Actor.for_user(request.user), **form.cleaned_data
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
            status = error.status
        else:
            messages.success(request, "The endpoint was saved.")
            return redirect("portal:webhook_endpoint", endpoint_id=endpoint.pk)
    elif form.errors:
        status = 400
    deliveries = webhook_delivery_list(tenant=request.tenant, endpoint=endpoint)
    context = {
        "endpoint": endpoint,
        "form": form,
        "rotate_form": WebhookRotateForm(),
        "page": Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page")),
    }
    return render(request, "webhooks/endpoint.html", context, status=status)


@require_POST
@permission_required(Permission.MANAGE_SETTINGS)
def webhook_endpoint_test(request: TenantHttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    try:
        webhook_endpoint_send_test(tenant=request.tenant, endpoint=endpoint, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, "A test.ping event is on its way. Reload to see the result in the delivery log.")
    return redirect("portal:webhook_endpoint", endpoint_id=endpoint.pk)


@require_POST
@permission_required(Permission.MANAGE_SETTINGS)
def webhook_endpoint_replay(request: TenantHttpRequest, endpoint_id: str, event_id: str) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    event = webhook_event_get(tenant=request.tenant, event_id=event_id)
    if event is None:
        raise Http404
    try:
        webhook_event_replay(tenant=request.tenant, endpoint=endpoint, event=event, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"The {event.type} event {event.pk} will be delivered again.")
    return redirect("portal:webhook_endpoint", endpoint_id=endpoint.pk)


@require_POST
@permission_required(Permission.MANAGE_SETTINGS)
def webhook_endpoint_rotate(request: TenantHttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint_or_404(request, endpoint_id)
    form = WebhookRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the overlap in whole hours, from 0 to 168.")
        return redirect("portal:webhook_endpoint", endpoint_id=endpoint.pk)
    submission = form.cleaned_data["submission"]
    if not submission_token_claim(submission):
        messages.info(request, ALREADY_SUBMITTED)
        return redirect("portal:webhook_endpoint", endpoint_id=endpoint.pk)
    issued = webhook_endpoint_rotate_secret(
        tenant=request.tenant,
        endpoint=endpoint,
        actor=Actor.for_user(request.user),
        overlap_seconds=form.cleaned_data["overlap_hours"] * 3600,
    )
    return _secret_page(request, issued, rotated=True)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def webhook_endpoint_delete_page(request: TenantHttpRequest, endpoint_id: str) -> HttpResponse:
    """GET asks for confirmation; POST deletes the endpoint and its delivery log."""
    endpoint = _endpoint_or_404(request, endpoint_id)
    if request.method == "GET":
        return render(request, "webhooks/delete.html", {"endpoint": endpoint})
    webhook_endpoint_delete(tenant=request.tenant, endpoint=endpoint, actor=Actor.for_user(request.user))
    messages.success(request, f"The endpoint {endpoint.url} was deleted.")
    return redirect("portal:webhooks")
