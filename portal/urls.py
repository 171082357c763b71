from django.urls import path

from portal.views import account, dashboard, team

app_name = "portal"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("team/", team.team, name="team"),
    path("team/members/<int:member_id>/role/", team.member_role, name="member_role"),
    path("team/members/<int:member_id>/remove/", team.member_delete, name="member_remove"),
    path("team/invitations/<int:invitation_id>/revoke/", team.invitation_delete, name="invitation_revoke"),
    path("settings/", account.account_settings, name="settings"),
    path("billing/", account.billing, name="billing"),
]
