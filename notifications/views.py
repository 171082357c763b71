"""The notifications page: everyone signed in sees their own, marks them read, follows their links."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.permissions import Permission
from notifications.models import Notification
from notifications.selectors import notification_get, notification_list
from notifications.services import notification_mark_all_read, notification_mark_read
from portal.access import permission_required
from tenants.context import TenantHttpRequest

NOTIFICATIONS_PER_PAGE = 20
SHOW_UNREAD = "unread"


@permission_required(Permission.VIEW_PORTAL)
def notification_list_page(request: TenantHttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == SHOW_UNREAD
    notifications = notification_list(user=request.user, unread_only=unread_only)
    page = Paginator(notifications, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "unread_only": unread_only}
    return render(request, "notifications/notification_list.html", context)


def _own_or_404(request: TenantHttpRequest, notification_id: int) -> Notification:
    notification = notification_get(user=request.user, notification_id=notification_id)
    if notification is None:  # another person's notification is as absent as a missing one
        raise Http404
    return notification


def _back(request: TenantHttpRequest) -> HttpResponse:
    """Back to the list page the form was on (filter and page kept), never to another host."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("portal:notifications")


@require_POST
@permission_required(Permission.VIEW_PORTAL)
def notification_open(request: TenantHttpRequest, notification_id: int) -> HttpResponse:
    """Mark read and follow the notification's link (a path on this host; see services)."""
    notification = notification_mark_read(notification=_own_or_404(request, notification_id))
    if notification.link and url_has_allowed_host_and_scheme(notification.link, allowed_hosts={request.get_host()}):
        return redirect(notification.link)
    return _back(request)


@require_POST
@permission_required(Permission.VIEW_PORTAL)
def notification_read(request: TenantHttpRequest, notification_id: int) -> HttpResponse:
    notification_mark_read(notification=_own_or_404(request, notification_id))
    return _back(request)


@require_POST
@permission_required(Permission.VIEW_PORTAL)
def notification_read_all(request: TenantHttpRequest) -> HttpResponse:
    marked = notification_mark_all_read(user=request.user)
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} as read.")
    return _back(request)
