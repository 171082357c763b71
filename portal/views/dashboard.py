from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from accounts.selectors import invitation_list_pending, member_list
from audit.selectors import audit_event_list
from tenants.context import TenantHttpRequest


@login_required
def dashboard(request: TenantHttpRequest) -> HttpResponse:
    context = {
        "member_count": member_list().count(),
        "pending_invitations": invitation_list_pending().count(),
        "recent_events": audit_event_list()[:8],
    }
    return render(request, "portal/dashboard.html", context)
