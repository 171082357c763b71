"""The "Usage alerts" page: owners and admins choose the thresholds and see the alerts sent."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render

from accounts.permissions import Permission
from alerts.forms import UsageAlertSettingsForm
from alerts.selectors import usage_alert_list, usage_alert_thresholds
from alerts.services import usage_alert_thresholds_set
from alerts.wording import meter_label, period_label, usage_amount
from audit.services import Actor
from config.errors import ValidationFailed
from portal.access import permission_required
from portal.errors import form_add_service_error
from tenants.context import TenantHttpRequest

RECENT_ALERTS = 20


@permission_required(Permission.MANAGE_SETTINGS)
def usage_alerts(request: TenantHttpRequest) -> HttpResponse:
    current = usage_alert_thresholds()
    form = UsageAlertSettingsForm(
        request.POST or None, initial={"thresholds": ", ".join(str(threshold) for threshold in current)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            chosen = usage_alert_thresholds_set(
                thresholds=form.cleaned_data["thresholds"], actor=Actor.for_user(request.user), user=request.user
            )
        except ValidationFailed as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, f"Usage alerts will be sent at {', '.join(f'{t}%' for t in chosen)}.")
            return redirect("portal:usage_alerts")
    alerts = [
        {
            "alert": alert,
            "meter": meter_label(alert.meter),
            "period": period_label(alert.period),
            "used": usage_amount(alert.meter, alert.used),
            "allowed": usage_amount(alert.meter, alert.allowed),
        }
        for alert in usage_alert_list()[:RECENT_ALERTS]
    ]
    context = {"form": form, "thresholds": current, "alerts": alerts}
    return render(request, "alerts/usage_alerts.html", context, status=400 if form.errors else 200)
