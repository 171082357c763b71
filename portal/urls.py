from django.urls import path

from portal.views import account, api_keys, audit_log, billing, dashboard, team

app_name = "portal"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("team/", team.team, name="team"),
    path("team/members/<int:member_id>/role/", team.member_role, name="member_role"),
    path("team/members/<int:member_id>/remove/", team.member_delete, name="member_remove"),
    path("team/invitations/<int:invitation_id>/revoke/", team.invitation_delete, name="invitation_revoke"),
    path("settings/", account.account_settings, name="settings"),
    path("settings/api-keys/", api_keys.api_keys, name="api_keys"),
    path("settings/api-keys/<str:key_id>/rotate/", api_keys.api_key_rotation, name="api_key_rotate"),
    path("settings/api-keys/<str:key_id>/revoke/", api_keys.api_key_revocation, name="api_key_revoke"),
    path("audit-log/", audit_log.audit_log, name="audit_log"),
    path("billing/", billing.billing, name="billing"),
    path("billing/change/<slug:plan_code>/", billing.billing_change, name="billing_change"),
    path("billing/cancel/", billing.billing_cancel, name="billing_cancel"),
    path("billing/cancel/undo/", billing.billing_cancel_undo, name="billing_cancel_undo"),
    path("billing/scheduled-change/undo/", billing.billing_scheduled_change_undo, name="billing_scheduled_change_undo"),
    path("billing/invoices/<str:number>/", billing.billing_invoice, name="billing_invoice"),
]
