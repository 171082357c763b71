"""The alert email: text and HTML, in the workspace's name, linking back to its portal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from alerts.models import UsageAlert
from alerts.wording import usage_alert_text
from portal.links import tenant_url

if TYPE_CHECKING:
    from tenants.models import Tenant


def usage_alert_email_build(*, tenant: Tenant, alert: UsageAlert, recipients: list[str]) -> EmailMultiAlternatives:
    """One message to every recipient (the workspace's owners and admins see who else got it)."""
    text = usage_alert_text(alert=alert, workspace_name=tenant.name)
    domain = tenant.get_primary_domain()
    context = {
        "workspace_name": tenant.name,
        "alert": alert,
        "title": text.title,
        "body": text.body,
        "billing_url": tenant_url(domain=domain.domain, path=reverse("portal:billing", urlconf=settings.ROOT_URLCONF))
        if domain
        else "",
        "settings_url": tenant_url(
            domain=domain.domain, path=reverse("portal:usage_alerts", urlconf=settings.ROOT_URLCONF)
        )
        if domain
        else "",
    }
    message = EmailMultiAlternatives(
        subject=f"[{tenant.name}] {text.title}",
        body=render_to_string("alerts/email/usage_alert.txt", context),
        to=recipients,
    )
    message.attach_alternative(render_to_string("alerts/email/usage_alert.html", context), "text/html")
    return message
