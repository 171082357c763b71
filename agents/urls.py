"""Included by api/urls.py under /api/v1/."""

from django.urls import path

from agents.apis import AgentDetailApi, AgentListCreateApi
from agents.org_apis import (
    DepartmentDetailApi,
    DepartmentListCreateApi,
    OrgChartApi,
    TeamDetailApi,
    TeamListCreateApi,
)

urlpatterns = [
    path("agents", AgentListCreateApi.as_view(), name="agents"),
    path("agents/<str:agent_id>", AgentDetailApi.as_view(), name="agent"),
    path("departments", DepartmentListCreateApi.as_view(), name="departments"),
    path("departments/<str:department_id>", DepartmentDetailApi.as_view(), name="department"),
    path("teams", TeamListCreateApi.as_view(), name="teams"),
    path("teams/<str:team_id>", TeamDetailApi.as_view(), name="team"),
    path("org-chart", OrgChartApi.as_view(), name="org-chart"),
]
