"""/api/v1/agents: list and create, read, change, archive. Reads `agents:read`, writes `agents:write`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agents.budgets import BUDGET_CURRENCY
from agents.configuration import MAX_TOKENS_MAX, MAX_TOKENS_MIN, TEMPERATURE_MAX, TEMPERATURE_MIN
from agents.models import DEFAULT_AGENT_TYPE, Agent, AgentStatus, AgentTool, AgentType, ModelProvider
from agents.selectors import agent_get, agent_list
from agents.services import AgentChanges, agent_archive, agent_create, agent_update
from agents.validation import MAX_LANGUAGES, MAX_TOKEN_BUDGET
from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.scopes import Scope
from config.errors import Conflict, InvalidTransition, PlanLimitReached

AGENT_ID_PARAMETER = OpenApiParameter("agent_id", str, OpenApiParameter.PATH, description="The agent's id, `agt_…`.")
TYPE_HELP = (
    f"One of {', '.join(f'`{value}`' for value in AgentType.values)}. Any other well-formed word (such as the "
    f"SDK example's `nlp`) is stored as `{DEFAULT_AGENT_TYPE}`; empty or missing: `{DEFAULT_AGENT_TYPE}`."
)
NEW_AGENT_STATUS_CHOICES = [(s.value, s.label) for s in (AgentStatus.DRAFT, AgentStatus.ACTIVE)]
# Input: the id of the team, department or manager (agent), or null to clear it.
REF_HELP = "The {}'s id (`{}…`), or null for none."


class RefOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class AgentCreatorOutput(serializers.Serializer):
    type = serializers.CharField(source="created_by_type")
    id = serializers.CharField(source="created_by_id")
    name = serializers.CharField(source="created_by_label")


class ModelConfigOutput(serializers.Serializer):
    provider = serializers.ChoiceField(choices=ModelProvider.choices)
    model = serializers.CharField()
    temperature = serializers.FloatField()
    max_tokens = serializers.IntegerField()


class AgentOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `agt_…`.")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=AgentType.choices)
    job_title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    department = RefOutput(allow_null=True)
    team = RefOutput(allow_null=True)
    manager = RefOutput(allow_null=True, help_text="The agent this one reports to.")
    languages = serializers.ListField(child=serializers.CharField())
    system_prompt = serializers.CharField()
    config = ModelConfigOutput()
    tools = serializers.ListField(child=serializers.ChoiceField(choices=AgentTool.choices))
    knowledge_bases = RefOutput(many=True, help_text="The knowledge bases it may answer from.")
    daily_token_budget = serializers.IntegerField(allow_null=True, help_text="Tokens per day; null: no budget.")
    daily_cost_budget = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="Model cost per UTC day, in USD (`budget_currency`); null: no budget.",
    )
    budget_currency = serializers.SerializerMethodField(
        help_text="Always `USD`: the currency of model prices and of chat and task costs, whatever the "
        "workspace's billing currency."
    )
    created_at = serializers.DateTimeField()
    created_by = AgentCreatorOutput(source="*")
    updated_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)

    def get_budget_currency(self, agent: Agent) -> str:
        return BUDGET_CURRENCY


class ModelConfigInput(serializers.Serializer):
    provider = serializers.ChoiceField(choices=ModelProvider.choices, required=False, help_text="Default `local`.")
    model = serializers.CharField(
        max_length=100, required=False, help_text="Default: `agentry-local` (local) or `gpt-4o-mini` (openai)."
    )
    temperature = serializers.FloatField(
        min_value=TEMPERATURE_MIN, max_value=TEMPERATURE_MAX, required=False, help_text="Default 0.7."
    )
    max_tokens = serializers.IntegerField(
        min_value=MAX_TOKENS_MIN, max_value=MAX_TOKENS_MAX, required=False, help_text="Default 1024."
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {key: [f"Unknown setting. Allowed: {', '.join(self.fields)}."] for key in unknown}
                )
        return super().to_internal_value(data)


class AgentFieldsInput(serializers.Serializer):
    """What create and change share; every field optional (create requires `name`)."""

    name = serializers.CharField(max_length=120, required=False)
    type = serializers.CharField(max_length=40, required=False, allow_blank=True, help_text=TYPE_HELP)
    job_title = serializers.CharField(max_length=120, required=False, allow_blank=True, help_text="Role or job title.")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    department = serializers.CharField(
        max_length=32, required=False, allow_null=True, help_text=REF_HELP.format("department", "dept_")
    )
    team = serializers.CharField(
        max_length=32,
        required=False,
        allow_null=True,
        help_text=REF_HELP.format("team", "team_") + " The agent joins the team's department.",
    )
    manager = serializers.CharField(
        max_length=32, required=False, allow_null=True, help_text=REF_HELP.format("manager agent", "agt_")
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=16),
        required=False,
        min_length=1,
        max_length=MAX_LANGUAGES,
        help_text="Language codes such as `en`, `ar`, `pt-BR`. Default: the workspace's language.",
    )
    system_prompt = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    config = ModelConfigInput(required=False, help_text="Model configuration; on change, only the keys sent.")
    tools = serializers.ListField(child=serializers.ChoiceField(choices=AgentTool.choices), required=False)
    knowledge_bases = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        max_length=100,
        help_text="Ids (`kb_…`) of the knowledge bases it may answer from; on change, the complete list.",
    )
    daily_token_budget = serializers.IntegerField(
        min_value=1, max_value=MAX_TOKEN_BUDGET, required=False, allow_null=True
    )
    daily_cost_budget = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        help_text="Model cost per UTC day, in USD (model prices are in USD); null: no budget.",
    )


def _service_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """API names → service names: `team` is an id here, `team_id` there."""
    renamed = {"team": "team_id", "department": "department_id", "manager": "manager_id"}
    renamed["knowledge_bases"] = "knowledge_base_ids"
    return {renamed.get(key, key): value for key, value in data.items()}


def _agent_or_404(agent_id: str) -> Agent:
    agent = agent_get(agent_id=agent_id)
    if agent is None:
        raise Http404
    return agent


_AGENT_EXAMPLE = {
    "id": "agt_4kP9sT2wXq7LmN3vB8rZ",
    "name": "Customer Support Agent",
    "type": "support",
    "job_title": "Tier 1 support",
    "description": "Answers order and delivery questions from the help centre.",
    "status": "active",
    "department": {"id": "dept_Q2w8Xn4Lr6Tz9Pk3Vb7M", "name": "Customer Service"},
    "team": {"id": "team_H5j2Kd8Fs3Lq9Wm4Zx6C", "name": "Tier 1"},
    "manager": {"id": "agt_Z8x3Cv6Bn1Mq4Wr7Ty2U", "name": "Support Lead"},
    "languages": ["en", "ar"],
    "system_prompt": "You are Acme's support agent. Answer from the help centre only.",
    "config": {"provider": "local", "model": "agentry-local", "temperature": 0.7, "max_tokens": 1024},
    "tools": ["knowledge_search", "lead_capture", "human_handoff"],
    "knowledge_bases": [{"id": "kb_8Hq2Lm5Xw9Rt3Zn6Vc1B", "name": "Help centre"}],
    "daily_token_budget": 200000,
    "daily_cost_budget": "25.00",
    "budget_currency": "USD",
    "created_at": "2026-03-02T09:14:07.120000Z",
    "created_by": {"type": "user", "id": "1", "name": "owner@acme.test"},
    "updated_at": "2026-03-04T16:40:00.000000Z",
    "archived_at": None,
}
_SDK_EXAMPLE_RESPONSE = {
    **_AGENT_EXAMPLE,
    "name": "Customer Support Agent",
    "type": "assistant",
    "job_title": "",
    "description": "",
    "status": "draft",
    "department": None,
    "team": None,
    "manager": None,
    "languages": ["en"],
    "system_prompt": "",
    "config": {"provider": "local", "model": "gpt-4", "temperature": 0.7, "max_tokens": 1024},
    "tools": [],
    "knowledge_bases": [],
    "daily_token_budget": None,
    "daily_cost_budget": None,
    "created_by": {"type": "api_key", "id": "key_7QbX2mTz9LwK4rVn", "name": "CRM sync"},
    "updated_at": "2026-03-02T09:14:07.120000Z",
}


class AgentListCreateApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)
    method_scopes = {"POST": (Scope.AGENTS_WRITE,)}
    idempotent_post = True
    pagination_class = CreatedCursorPagination

    class InputSerializer(AgentFieldsInput):
        name = serializers.CharField(max_length=120)
        status = serializers.ChoiceField(
            choices=NEW_AGENT_STATUS_CHOICES,
            required=False,
            help_text="`draft` (default) or `active`; active takes a slot of the plan's `agents` limit.",
        )

    @extend_schema(
        operation_id="agents_list",
        tags=["Agents"],
        summary="List agents",
        description="Newest first. Archived agents are left out unless `status=archived`.",
        responses=AgentOutput(many=True),
        parameters=[
            OpenApiParameter("status", enum=AgentStatus.values, description="Only agents in this status."),
            OpenApiParameter("type", enum=AgentType.values, description="Only agents of this type."),
            OpenApiParameter("team", str, description="Only agents in this team (`team_…`)."),
            OpenApiParameter("department", str, description="Only agents in this department (`dept_…`)."),
        ],
    )
    def get(self, request: Request) -> Response:
        agents = agent_list(
            status=query_param_choice(request, "status", tuple(AgentStatus.values)),
            type=query_param_choice(request, "type", tuple(AgentType.values)),
            team_id=request.query_params.get("team"),
            department_id=request.query_params.get("department"),
        )
        return self.paginated(agents, AgentOutput)

    @extend_schema(
        operation_id="agents_create",
        tags=["Agents"],
        summary="Create an agent",
        description=(
            "Creates a draft agent, or an active one with `status: active` (403 `plan_limit_reached` when the "
            "plan's `agents` limit is used up). Only `name` is required; `config` takes the keys it is given and "
            "defaults the rest (provider `local`, temperature 0.7, max_tokens 1024)."
        ),
        request=InputSerializer,
        responses={201: AgentOutput},
        examples=[
            OpenApiExample(
                "The SDK example",
                request_only=True,
                value={
                    "name": "Customer Support Agent",
                    "type": "nlp",
                    "config": {"model": "gpt-4", "temperature": 0.7},
                },
            ),
            OpenApiExample(
                "A support agent in a team",
                request_only=True,
                value={
                    "name": "Customer Support Agent",
                    "type": "support",
                    "job_title": "Tier 1 support",
                    "status": "active",
                    "team": "team_H5j2Kd8Fs3Lq9Wm4Zx6C",
                    "manager": "agt_Z8x3Cv6Bn1Mq4Wr7Ty2U",
                    "languages": ["en", "ar"],
                    "system_prompt": "You are Acme's support agent. Answer from the help centre only.",
                    "config": {"provider": "local", "temperature": 0.3},
                    "tools": ["knowledge_search", "lead_capture", "human_handoff"],
                    "knowledge_bases": ["kb_8Hq2Lm5Xw9Rt3Zn6Vc1B"],
                    "daily_token_budget": 200000,
                },
            ),
            OpenApiExample(
                "Created from the SDK example", response_only=True, status_codes=["201"], value=_SDK_EXAMPLE_RESPONSE
            ),
        ],
    )
    @error_responses(PlanLimitReached, Conflict)
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        agent = agent_create(actor=self.principal.actor, **_service_arguments(data))
        return Response(AgentOutput(_agent_or_404(agent.pk)).data, status=201)


class AgentDetailApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)
    method_scopes = {"PATCH": (Scope.AGENTS_WRITE,), "DELETE": (Scope.AGENTS_WRITE,)}

    class InputSerializer(AgentFieldsInput):
        status = serializers.ChoiceField(
            choices=AgentStatus.choices,
            required=False,
            help_text=(
                "draft → active | archived; active → paused | archived; paused → active | archived; "
                "archived → draft (restore). Other changes: 409 `invalid_transition`."
            ),
        )

    @extend_schema(
        operation_id="agents_retrieve",
        parameters=[AGENT_ID_PARAMETER],
        tags=["Agents"],
        summary="Get an agent",
        description="Archived agents can still be read.",
        responses=AgentOutput,
        examples=[OpenApiExample("An agent", response_only=True, value=_AGENT_EXAMPLE)],
    )
    def get(self, request: Request, agent_id: str) -> Response:
        return Response(AgentOutput(_agent_or_404(agent_id)).data)

    @extend_schema(
        operation_id="agents_update",
        parameters=[AGENT_ID_PARAMETER],
        tags=["Agents"],
        summary="Change an agent",
        description=(
            "Changes only the fields sent (`config` too: only the keys sent). Activating a draft takes a slot of "
            "the plan's `agents` limit. A manager that would make a cycle in the reporting lines is refused "
            "(400). An archived agent can only be restored (`status: draft`, 409 `conflict` otherwise)."
        ),
        request=InputSerializer,
        responses=AgentOutput,
        examples=[
            OpenApiExample("Activate", request_only=True, value={"status": "active"}),
            OpenApiExample(
                "Move to another team and manager",
                request_only=True,
                value={"team": "team_H5j2Kd8Fs3Lq9Wm4Zx6C", "manager": "agt_Z8x3Cv6Bn1Mq4Wr7Ty2U"},
            ),
            OpenApiExample("Cooler answers", request_only=True, value={"config": {"temperature": 0.2}}),
            OpenApiExample("The changed agent", response_only=True, value=_AGENT_EXAMPLE),
        ],
    )
    @error_responses(PlanLimitReached, Conflict, InvalidTransition)
    def patch(self, request: Request, agent_id: str) -> Response:
        agent = _agent_or_404(agent_id)
        data = self.validated(self.InputSerializer, request.data)
        changes: AgentChanges = _service_arguments(data)  # type: ignore[assignment]
        agent = agent_update(agent=agent, actor=self.principal.actor, changes=changes)
        return Response(AgentOutput(_agent_or_404(agent.pk)).data)

    @extend_schema(
        operation_id="agents_archive",
        parameters=[AGENT_ID_PARAMETER],
        tags=["Agents"],
        summary="Archive an agent",
        description=(
            "Agents are archived, never erased: the agent stops working, frees its slot of the plan's `agents` "
            "limit and leaves lists and the org chart, while its history (conversations, tasks, audit trail) "
            "keeps pointing at it. Its direct reports move up to its manager. Archiving twice is harmless. "
            'Restore with `PATCH {"status": "draft"}`. Sends the `agent.deleted` webhook.'
        ),
        request=None,
        responses=AgentOutput,
        examples=[
            OpenApiExample(
                "The archived agent",
                response_only=True,
                value={**_AGENT_EXAMPLE, "status": "archived", "archived_at": "2026-03-05T08:00:00.000000Z"},
            )
        ],
    )
    def delete(self, request: Request, agent_id: str) -> Response:
        agent = agent_archive(agent=_agent_or_404(agent_id), actor=self.principal.actor)
        return Response(AgentOutput(_agent_or_404(agent.pk)).data)
