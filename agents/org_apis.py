"""/api/v1/departments, /api/v1/teams and /api/v1/org-chart. Reads `agents:read`, writes `agents:write`."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agents.apis import RefOutput
from agents.models import AgentStatus, AgentType, Department, Team
from agents.org_services import (
    department_create,
    department_delete,
    department_update,
    team_create,
    team_delete,
    team_update,
)
from agents.selectors import department_get, department_list, org_chart, team_get, team_list
from api.base import TenantApi
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.scopes import Scope
from config.errors import Conflict

DEPARTMENT_ID_PARAMETER = OpenApiParameter(
    "department_id", str, OpenApiParameter.PATH, description="The department's id, `dept_…`."
)
TEAM_ID_PARAMETER = OpenApiParameter("team_id", str, OpenApiParameter.PATH, description="The team's id, `team_…`.")
WRITES = {method: (Scope.AGENTS_WRITE,) for method in ("POST", "PATCH", "DELETE")}


class DepartmentOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `dept_…`.")
    name = serializers.CharField()
    description = serializers.CharField()
    team_count = serializers.IntegerField()
    agent_count = serializers.IntegerField(help_text="Agents in the department (archived ones not counted).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TeamOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `team_…`.")
    name = serializers.CharField()
    description = serializers.CharField()
    department = RefOutput()
    agent_count = serializers.IntegerField(help_text="Agents in the team (archived ones not counted).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


_DEPARTMENT_EXAMPLE = {
    "id": "dept_Q2w8Xn4Lr6Tz9Pk3Vb7M",
    "name": "Customer Service",
    "description": "Everything after the sale.",
    "team_count": 2,
    "agent_count": 5,
    "created_at": "2026-03-02T09:10:00.000000Z",
    "updated_at": "2026-03-02T09:10:00.000000Z",
}
_TEAM_EXAMPLE = {
    "id": "team_H5j2Kd8Fs3Lq9Wm4Zx6C",
    "name": "Tier 1",
    "description": "First answers, in English and Arabic.",
    "department": {"id": "dept_Q2w8Xn4Lr6Tz9Pk3Vb7M", "name": "Customer Service"},
    "agent_count": 3,
    "created_at": "2026-03-02T09:12:00.000000Z",
    "updated_at": "2026-03-02T09:12:00.000000Z",
}


def _department_or_404(department_id: str) -> Department:
    department = department_get(department_id=department_id)
    if department is None:
        raise Http404
    return department


def _team_or_404(team_id: str) -> Team:
    team = team_get(team_id=team_id)
    if team is None:
        raise Http404
    return team


class DepartmentListCreateApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)
    method_scopes = WRITES
    idempotent_post = True
    pagination_class = CreatedCursorPagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, help_text="Unique in the workspace (ignoring case).")
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    @extend_schema(
        operation_id="departments_list",
        tags=["Organisation"],
        summary="List departments",
        responses=DepartmentOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        return self.paginated(department_list(), DepartmentOutput)

    @extend_schema(
        operation_id="departments_create",
        tags=["Organisation"],
        summary="Create a department",
        request=InputSerializer,
        responses={201: DepartmentOutput},
        examples=[
            OpenApiExample("Customer Service", request_only=True, value={"name": "Customer Service"}),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=_DEPARTMENT_EXAMPLE),
        ],
    )
    @error_responses(Conflict)
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        department = department_create(actor=self.principal.actor, **data)
        return Response(DepartmentOutput(_department_or_404(department.pk)).data, status=201)


class DepartmentDetailApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)
    method_scopes = WRITES

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    @extend_schema(
        operation_id="departments_retrieve",
        parameters=[DEPARTMENT_ID_PARAMETER],
        tags=["Organisation"],
        summary="Get a department",
        responses=DepartmentOutput,
        examples=[OpenApiExample("A department", response_only=True, value=_DEPARTMENT_EXAMPLE)],
    )
    def get(self, request: Request, department_id: str) -> Response:
        return Response(DepartmentOutput(_department_or_404(department_id)).data)

    @extend_schema(
        operation_id="departments_update",
        parameters=[DEPARTMENT_ID_PARAMETER],
        tags=["Organisation"],
        summary="Rename or describe a department",
        request=InputSerializer,
        responses=DepartmentOutput,
        examples=[OpenApiExample("Rename", request_only=True, value={"name": "Customer Care"})],
    )
    def patch(self, request: Request, department_id: str) -> Response:
        department = _department_or_404(department_id)
        data = self.validated(self.InputSerializer, request.data)
        department_update(department=department, actor=self.principal.actor, **data)
        return Response(DepartmentOutput(_department_or_404(department.pk)).data)

    @extend_schema(
        operation_id="departments_delete",
        parameters=[DEPARTMENT_ID_PARAMETER],
        tags=["Organisation"],
        summary="Delete a department",
        description="Only an empty department: 409 `conflict` while it has teams or (non-archived) agents.",
        request=None,
        responses={204: None},
    )
    @error_responses(Conflict)
    def delete(self, request: Request, department_id: str) -> Response:
        department_delete(department=_department_or_404(department_id), actor=self.principal.actor)
        return Response(status=204)


class TeamListCreateApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)
    method_scopes = WRITES
    idempotent_post = True
    pagination_class = CreatedCursorPagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, help_text="Unique in its department (ignoring case).")
        department = serializers.CharField(max_length=32, help_text="The department's id, `dept_…`.")
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    @extend_schema(
        operation_id="teams_list",
        tags=["Organisation"],
        summary="List teams",
        responses=TeamOutput(many=True),
        parameters=[OpenApiParameter("department", str, description="Only teams of this department (`dept_…`).")],
    )
    def get(self, request: Request) -> Response:
        return self.paginated(team_list(department_id=request.query_params.get("department")), TeamOutput)

    @extend_schema(
        operation_id="teams_create",
        tags=["Organisation"],
        summary="Create a team",
        request=InputSerializer,
        responses={201: TeamOutput},
        examples=[
            OpenApiExample(
                "Tier 1", request_only=True, value={"name": "Tier 1", "department": "dept_Q2w8Xn4Lr6Tz9Pk3Vb7M"}
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=_TEAM_EXAMPLE),
        ],
    )
    @error_responses(Conflict)
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        team = team_create(
            name=data["name"],
            department_id=data["department"],
            description=data.get("description", ""),
            actor=self.principal.actor,
        )
        return Response(TeamOutput(_team_or_404(team.pk)).data, status=201)


class TeamDetailApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)
    method_scopes = WRITES

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
        department = serializers.CharField(
            max_length=32, required=False, help_text="Move the team, with its agents, to this department."
        )

    @extend_schema(
        operation_id="teams_retrieve",
        parameters=[TEAM_ID_PARAMETER],
        tags=["Organisation"],
        summary="Get a team",
        responses=TeamOutput,
        examples=[OpenApiExample("A team", response_only=True, value=_TEAM_EXAMPLE)],
    )
    def get(self, request: Request, team_id: str) -> Response:
        return Response(TeamOutput(_team_or_404(team_id)).data)

    @extend_schema(
        operation_id="teams_update",
        parameters=[TEAM_ID_PARAMETER],
        tags=["Organisation"],
        summary="Rename, describe or move a team",
        request=InputSerializer,
        responses=TeamOutput,
        examples=[OpenApiExample("Rename", request_only=True, value={"name": "Tier 2"})],
    )
    def patch(self, request: Request, team_id: str) -> Response:
        team = _team_or_404(team_id)
        data = self.validated(self.InputSerializer, request.data)
        if "department" in data:
            data["department_id"] = data.pop("department")
        team_update(team=team, actor=self.principal.actor, **data)
        return Response(TeamOutput(_team_or_404(team.pk)).data)

    @extend_schema(
        operation_id="teams_delete",
        parameters=[TEAM_ID_PARAMETER],
        tags=["Organisation"],
        summary="Delete a team",
        description="Only a team without (non-archived) agents: 409 `conflict` otherwise.",
        request=None,
        responses={204: None},
    )
    @error_responses(Conflict)
    def delete(self, request: Request, team_id: str) -> Response:
        team_delete(team=_team_or_404(team_id), actor=self.principal.actor)
        return Response(status=204)


# --- The org chart ---------------------------------------------------------------------------


class OrgChartAgentOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=AgentType.choices)
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    job_title = serializers.CharField()
    manager_id = serializers.CharField(allow_null=True)


class OrgChartTeamOutput(serializers.Serializer):
    id = serializers.CharField(source="team.id")
    name = serializers.CharField(source="team.name")
    agents = OrgChartAgentOutput(many=True)


class OrgChartDepartmentOutput(serializers.Serializer):
    id = serializers.CharField(source="department.id")
    name = serializers.CharField(source="department.name")
    teams = OrgChartTeamOutput(many=True)
    agents = OrgChartAgentOutput(many=True, help_text="In the department but in no team.")


class ReportingLineOutput(serializers.Serializer):
    agent = OrgChartAgentOutput()


# A tree: each node lists the agents reporting to it (drf-spectacular makes this a recursive component).
ReportingLineOutput._declared_fields["reports"] = ReportingLineOutput(many=True)


class OrgChartOutput(serializers.Serializer):
    departments = OrgChartDepartmentOutput(many=True)
    unassigned = OrgChartAgentOutput(many=True, help_text="Agents in no department.")
    reporting_lines = ReportingLineOutput(
        many=True, help_text="Agents without a manager, each with the tree of agents reporting to them."
    )
    agent_count = serializers.IntegerField()


_CHART_AGENT = {
    "id": "agt_Z8x3Cv6Bn1Mq4Wr7Ty2U",
    "name": "Support Lead",
    "type": "manager",
    "status": "active",
    "job_title": "Head of support",
    "manager_id": None,
}
_CHART_REPORT = {
    **_CHART_AGENT,
    "id": "agt_4kP9sT2wXq7LmN3vB8rZ",
    "name": "Customer Support Agent",
    "type": "support",
    "job_title": "Tier 1 support",
    "manager_id": "agt_Z8x3Cv6Bn1Mq4Wr7Ty2U",
}


class OrgChartApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)

    @extend_schema(
        operation_id="org_chart_retrieve",
        tags=["Organisation"],
        summary="The org chart",
        description=(
            "The whole organisation in one answer: departments → teams → agents, and the reporting lines as a "
            "tree (agents without a manager at the top). Archived agents are left out."
        ),
        responses=OrgChartOutput,
        examples=[
            OpenApiExample(
                "A small organisation",
                response_only=True,
                value={
                    "departments": [
                        {
                            "id": "dept_Q2w8Xn4Lr6Tz9Pk3Vb7M",
                            "name": "Customer Service",
                            "teams": [{"id": "team_H5j2Kd8Fs3Lq9Wm4Zx6C", "name": "Tier 1", "agents": [_CHART_REPORT]}],
                            "agents": [_CHART_AGENT],
                        }
                    ],
                    "unassigned": [],
                    "reporting_lines": [{"agent": _CHART_AGENT, "reports": [{"agent": _CHART_REPORT, "reports": []}]}],
                    "agent_count": 2,
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(OrgChartOutput(org_chart()).data)
