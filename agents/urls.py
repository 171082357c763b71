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
from agents.task_apis import AgentTaskListCreateApi, TaskApproveApi, TaskCancelApi, TaskDetailApi, TaskRejectApi

urlpatterns = [
    path("agents", AgentListCreateApi.as_view(), name="agents"),
    path("agents/<str:agent_id>", AgentDetailApi.as_view(), name="agent"),
    path("agents/<str:agent_id>/tasks", AgentTaskListCreateApi.as_view(), name="agent-tasks"),
    path("tasks/<str:task_id>", TaskDetailApi.as_view(), name="task"),
    path("tasks/<str:task_id>/approve", TaskApproveApi.as_view(), name="task-approve"),
    path("tasks/<str:task_id>/reject", TaskRejectApi.as_view(), name="task-reject"),
    path("tasks/<str:task_id>/cancel", TaskCancelApi.as_view(), name="task-cancel"),
    path("departments", DepartmentListCreateApi.as_view(), name="departments"),
    path("departments/<str:department_id>", DepartmentDetailApi.as_view(), name="department"),
    path("teams", TeamListCreateApi.as_view(), name="teams"),
    path("teams/<str:team_id>", TeamDetailApi.as_view(), name="team"),
    path("org-chart", OrgChartApi.as_view(), name="org-chart"),
]
