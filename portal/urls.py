from django.urls import include, path

from agents import task_views
from agents import views as agents_views
from alerts import views as alerts_views
from conversations import views as conversations_views
from notifications import views as notifications_views
from portal.views import (
    account,
    api_keys,
    audit_log,
    billing,
    billing_add_ons,
    billing_hosted,
    billing_payment,
    billing_profile,
    billing_subscription,
    dashboard,
    team,
)
from portal.views import usage as usage_views
from webhooks import views as webhooks_views

app_name = "portal"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("agents/", agents_views.agents_page, name="agents"),
    path("agents/new/", agents_views.agent_new, name="agent_new"),
    path("agents/<str:agent_id>/", agents_views.agent_page, name="agent"),
    path("agents/<str:agent_id>/edit/", agents_views.agent_edit, name="agent_edit"),
    path("agents/<str:agent_id>/status/", agents_views.agent_status, name="agent_status"),
    path("agents/<str:agent_id>/archive/", agents_views.agent_archive_action, name="agent_archive"),
    path("agents/<str:agent_id>/tasks/", task_views.task_assign, name="task_assign"),
    path("agents/<str:agent_id>/try-it/", conversations_views.agent_try_it, name="agent_try_it"),
    path("conversations/", conversations_views.conversations_page, name="conversations"),
    path("conversations/<str:conversation_id>/", conversations_views.conversation_page, name="conversation"),
    path("settings/model-providers/", conversations_views.model_providers_page, name="model_providers"),
    path("tasks/", task_views.tasks_page, name="tasks"),
    path("tasks/<str:task_id>/", task_views.task_page, name="task"),
    path("tasks/<str:task_id>/approve/", task_views.task_approve, name="task_approve"),
    path("tasks/<str:task_id>/reject/", task_views.task_reject, name="task_reject"),
    path("tasks/<str:task_id>/cancel/", task_views.task_cancel, name="task_cancel"),
    path("org-chart/", agents_views.org_chart_page, name="org_chart"),
    path("org-chart/departments/", agents_views.department_new, name="department_new"),
    path("org-chart/departments/<str:department_id>/delete/", agents_views.department_remove, name="department_delete"),
    path("org-chart/teams/", agents_views.team_new, name="team_new"),
    path("org-chart/teams/<str:team_id>/delete/", agents_views.team_remove, name="team_delete"),
    path("usage/", usage_views.usage, name="usage"),
    path("usage/export.csv", usage_views.usage_export, name="usage_export"),
    path("usage/overage/", usage_views.usage_overage, name="usage_overage"),
    path("team/", team.team, name="team"),
    path("team/members/<int:member_id>/role/", team.member_role, name="member_role"),
    path("team/members/<int:member_id>/remove/", team.member_delete, name="member_remove"),
    path("team/invitations/<int:invitation_id>/revoke/", team.invitation_delete, name="invitation_revoke"),
    path("settings/", account.account_settings, name="settings"),
    path("settings/api-keys/", api_keys.api_keys, name="api_keys"),
    path("settings/api-keys/<str:key_id>/rotate/", api_keys.api_key_rotation, name="api_key_rotate"),
    path("settings/api-keys/<str:key_id>/revoke/", api_keys.api_key_revocation, name="api_key_revoke"),
    path("audit-log/", audit_log.audit_log, name="audit_log"),
    path("settings/usage-alerts/", alerts_views.usage_alerts, name="usage_alerts"),
    path("settings/webhooks/", webhooks_views.webhooks_page, name="webhooks"),
    path("settings/webhooks/<str:endpoint_id>/", webhooks_views.webhook_endpoint_page, name="webhook_endpoint"),
    path(
        "settings/webhooks/<str:endpoint_id>/test/", webhooks_views.webhook_endpoint_test, name="webhook_endpoint_test"
    ),
    path(
        "settings/webhooks/<str:endpoint_id>/rotate/",
        webhooks_views.webhook_endpoint_rotate,
        name="webhook_endpoint_rotate",
    ),
    path(
        "settings/webhooks/<str:endpoint_id>/delete/",
        webhooks_views.webhook_endpoint_delete_page,
        name="webhook_endpoint_delete",
    ),
    path(
        "settings/webhooks/<str:endpoint_id>/events/<str:event_id>/replay/",
        webhooks_views.webhook_endpoint_replay,
        name="webhook_endpoint_replay",
    ),
    path("notifications/", notifications_views.notification_list_page, name="notifications"),
    path("notifications/read-all/", notifications_views.notification_read_all, name="notifications_read_all"),
    path("notifications/<int:notification_id>/open/", notifications_views.notification_open, name="notification_open"),
    path("notifications/<int:notification_id>/read/", notifications_views.notification_read, name="notification_read"),
    path("billing/", billing.billing, name="billing"),
    path("billing/change/<slug:plan_code>/", billing.billing_change, name="billing_change"),
    path("billing/cancel/", billing.billing_cancel, name="billing_cancel"),
    path("billing/checkout/<slug:plan_code>/", billing_hosted.billing_checkout, name="billing_checkout"),
    path("billing/payment-portal/", billing_hosted.billing_payment_portal, name="billing_payment_portal"),
    path("billing/cancel/undo/", billing.billing_cancel_undo, name="billing_cancel_undo"),
    path("billing/add-ons/", billing_add_ons.billing_add_ons, name="billing_add_ons"),
    path("billing/add-ons/<slug:code>/buy/", billing_add_ons.billing_add_on_buy, name="billing_add_on_buy"),
    path("billing/add-ons/<slug:code>/remove/", billing_add_ons.billing_add_on_remove, name="billing_add_on_remove"),
    path("billing/cycle/", billing_subscription.billing_cycle_change, name="billing_cycle_change"),
    path("billing/reactivate/", billing_subscription.billing_reactivate, name="billing_reactivate"),
    path("billing/scheduled-change/undo/", billing.billing_scheduled_change_undo, name="billing_scheduled_change_undo"),
    path("billing/invoices/<str:number>/", billing.billing_invoice, name="billing_invoice"),
    path("billing/invoices/<str:number>/pay/", billing_payment.billing_invoice_pay, name="billing_invoice_pay"),
    path("billing/profile/", billing_profile.billing_profile, name="billing_profile"),
    path("billing/payment-method/", billing_payment.billing_payment_method, name="billing_payment_method"),
    path(
        "billing/payment-method/remove/",
        billing_payment.billing_payment_method_remove,
        name="billing_payment_method_remove",
    ),
    path("", include("knowledge.portal_urls")),
    path("", include("leads.portal_urls")),
    path("", include("widget.portal_urls")),
]
