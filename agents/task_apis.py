"""/api/v1/agents/{id}/tasks and /api/v1/tasks/{id}: assign and delegate tasks, read them with
their chain, approve, reject and cancel. Reads `agents:read`, writes `agents:write`; approving or
rejecting spend past an agent's budget also needs `billing:write` (owners and admins)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agents.apis import AGENT_ID_PARAMETER, RefOutput, _agent_or_404
from agents.models import Agent, AgentTask, TaskStatus
from agents.selectors import agent_get
from agents.task_selectors import agent_task_get, agent_task_list, task_ancestors, task_children
from agents.task_services import (
    MAX_DELEGATE_TO,
    MAX_TASK_TEXT,
    agent_task_approve,
    agent_task_cancel,
    agent_task_create,
    agent_task_reject,
)
from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from api.schema import error_responses
from apikeys.scopes import Scope
from config.errors import InvalidTransition, ValidationFailed
from conversations.costs import COST_CURRENCY  # model prices, so task costs, are in USD

TAG = "Tasks"
TASK_ID_PARAMETER = OpenApiParameter("task_id", str, OpenApiParameter.PATH, description="The task's id, `task_…`.")


class TaskInputOutput(serializers.Serializer):
    text = serializers.CharField(help_text="The instructions.")
    delegate_to = serializers.ListField(child=serializers.CharField(), help_text="Agents it fans out to.")


class TaskUsageOutput(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=6)
    currency = serializers.CharField()


class TaskEstimateOutput(serializers.Serializer):
    tokens = serializers.IntegerField(source="estimated_tokens", help_text="Prompt plus the agent's max_tokens.")
    cost = serializers.DecimalField(source="estimated_cost", max_digits=14, decimal_places=6)


class TaskApprovalOutput(serializers.Serializer):
    reason = serializers.CharField(source="approval_reason", help_text="Why it needed approval; empty if not.")
    approved_by = serializers.CharField(source="approved_by_label")
    approved_at = serializers.DateTimeField(allow_null=True)
    rejected_by = serializers.CharField(source="rejected_by_label")
    rejected_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()


class TaskCreatorOutput(serializers.Serializer):
    type = serializers.CharField(source="created_by_type", help_text="`user`, `api_key`, `system` or `agent`.")
    id = serializers.CharField(source="created_by_id")
    name = serializers.CharField(source="created_by_label")


class TaskSummaryOutput(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    agent = RefOutput()


class TaskOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `task_…`.")
    agent = RefOutput(help_text="The agent doing it.")
    delegated_by = RefOutput(allow_null=True, help_text="The agent that delegated it, if an agent did.")
    parent_id = serializers.CharField(allow_null=True, help_text="The task it is a sub-task of.")
    title = serializers.CharField()
    input = TaskInputOutput()
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    result = serializers.CharField(help_text="The answer; for a fan-out, the sub-tasks' answers joined.")
    error = serializers.CharField(help_text="Why it failed or was cancelled.")
    error_code = serializers.CharField(
        help_text="`agent_inactive`, `provider_error`, `delegation_refused`, `subtask_failed`, or empty."
    )
    model = serializers.CharField(help_text="`<provider>/<model>` that answered.")
    usage = serializers.SerializerMethodField()
    estimate = TaskEstimateOutput(source="*")
    approval = TaskApprovalOutput(source="*")
    created_by = TaskCreatorOutput(source="*")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(TaskUsageOutput)
    def get_usage(self, task: AgentTask) -> dict[str, Any]:
        data = {
            "prompt_tokens": task.prompt_tokens,
            "completion_tokens": task.completion_tokens,
            "total_tokens": task.total_tokens,
            "cost": task.cost,
            "currency": COST_CURRENCY,
        }
        return dict(TaskUsageOutput(data).data)


class TaskDetailOutput(TaskOutput):
    ancestors = serializers.SerializerMethodField(help_text="The tasks above it, the root first.")
    children = serializers.SerializerMethodField(help_text="Its sub-tasks, oldest first.")

    @extend_schema_field(TaskSummaryOutput(many=True))
    def get_ancestors(self, task: AgentTask) -> list[dict[str, Any]]:
        return list(TaskSummaryOutput(task_ancestors(task=task), many=True).data)

    @extend_schema_field(TaskSummaryOutput(many=True))
    def get_children(self, task: AgentTask) -> list[dict[str, Any]]:
        return list(TaskSummaryOutput(task_children(task=task), many=True).data)


_TASK_EXAMPLE: dict[str, Any] = {
    "id": "task_Jq7Lm2Xw9Rt3Zn6Vc1Bh",
    "agent": {"id": "agt_Z8x3Cv6Bn1Mq4Wr7Ty2U", "name": "Support Lead"},
    "delegated_by": None,
    "parent_id": None,
    "title": "Weekly summary",
    "input": {"text": "Summarise this week's open tickets.", "delegate_to": ["agt_4kP9sT2wXq7LmN3vB8rZ"]},
    "status": "done",
    "result": "## Customer Support Agent\n12 tickets are open; 3 wait for a refund.",
    "error": "",
    "error_code": "",
    "model": "",
    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost": "0.000000", "currency": "USD"},
    "estimate": {"tokens": 1035, "cost": "0.000000"},
    "approval": {
        "reason": "",
        "approved_by": "",
        "approved_at": None,
        "rejected_by": "",
        "rejected_at": None,
        "rejection_reason": "",
    },
    "created_by": {"type": "user", "id": "1", "name": "owner@acme.test"},
    "created_at": "2026-12-07T09:00:00.000000Z",
    "started_at": "2026-12-07T09:00:00.200000Z",
    "finished_at": "2026-12-07T09:00:03.900000Z",
}
_TASK_DETAIL_EXAMPLE = {
    **_TASK_EXAMPLE,
    "ancestors": [],
    "children": [
        {
            "id": "task_P3wX8nL2qR7tZ5vB9mK4",
            "title": "Weekly summary",
            "status": "done",
            "agent": {"id": "agt_4kP9sT2wXq7LmN3vB8rZ", "name": "Customer Support Agent"},
        }
    ],
}


def _task_or_404(task_id: str) -> AgentTask:
    task = agent_task_get(task_id=task_id)
    if task is None:
        raise Http404
    return task


def _detail(task_id: str) -> Response:
    return Response(TaskDetailOutput(_task_or_404(task_id)).data)


class AgentTaskListCreateApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)
    method_scopes = {"POST": (Scope.AGENTS_WRITE,)}
    idempotent_post = True
    pagination_class = CreatedCursorPagination

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        text = serializers.CharField(max_length=MAX_TASK_TEXT, required=False, allow_blank=True, default="")
        delegate_to = serializers.ListField(
            child=serializers.CharField(max_length=32),
            required=False,
            max_length=MAX_DELEGATE_TO,
            help_text="Agents (`agt_…`) this agent hands the task to: its reports or team-mates. The task "
            "completes when all of theirs have.",
        )
        delegated_by = serializers.CharField(
            max_length=32,
            required=False,
            help_text="Delegate as this agent (`agt_…`): the assignee must be in its reporting line or team.",
        )

    @extend_schema(
        operation_id="agent_tasks_list",
        parameters=[
            AGENT_ID_PARAMETER,
            OpenApiParameter("status", enum=TaskStatus.values, description="Only tasks in this status."),
        ],
        tags=[TAG],
        summary="List an agent's tasks",
        description="Newest first.",
        responses=TaskOutput(many=True),
    )
    def get(self, request: Request, agent_id: str) -> Response:
        agent = _agent_or_404(agent_id)
        status = query_param_choice(request, "status", tuple(TaskStatus.values))
        return self.paginated(agent_task_list(agent_id=agent.pk, status=status), TaskOutput)

    @extend_schema(
        operation_id="agent_tasks_create",
        parameters=[AGENT_ID_PARAMETER],
        tags=[TAG],
        summary="Assign a task to an agent",
        description=(
            "Queues the task; a worker runs it with the agent's model. The agent must be active. A task whose "
            "estimate exceeds what is left of the agent's daily budget is created `waiting_approval` instead. "
            "With `delegate_to` the task fans out to those agents when it runs."
        ),
        request=InputSerializer,
        responses={201: TaskOutput},
        examples=[
            OpenApiExample(
                "Fan out to two reports",
                request_only=True,
                value={
                    "title": "Weekly summary",
                    "text": "Summarise this week's open tickets.",
                    "delegate_to": ["agt_4kP9sT2wXq7LmN3vB8rZ", "agt_7YtR3eW1qA9sD5fG2hJ6"],
                },
            ),
            OpenApiExample("The task", response_only=True, status_codes=["201"], value=_TASK_EXAMPLE),
        ],
    )
    def post(self, request: Request, agent_id: str) -> Response:
        agent = _agent_or_404(agent_id)
        data = self.validated(self.InputSerializer, request.data)
        delegated_by = None
        if data.get("delegated_by"):
            delegated_by = _agent_or_400(data["delegated_by"])
        task = agent_task_create(
            agent=agent,
            title=data["title"],
            text=data.get("text", ""),
            delegate_to=data.get("delegate_to"),
            delegated_by=delegated_by,
            actor=self.principal.actor,
        )
        return Response(TaskOutput(_task_or_404(task.pk)).data, status=201)


def _agent_or_400(agent_id: str) -> Agent:
    agent = agent_get(agent_id=agent_id)
    if agent is None:
        raise ValidationFailed("There is no such agent.", errors={"delegated_by": ["There is no such agent."]})
    return agent


class TaskDetailApi(TenantApi):
    required_scopes = (Scope.AGENTS_READ,)

    @extend_schema(
        operation_id="tasks_retrieve",
        parameters=[TASK_ID_PARAMETER],
        tags=[TAG],
        summary="Get a task with its chain",
        description="With `ancestors` (the tasks above it, root first) and `children` (its sub-tasks).",
        responses=TaskDetailOutput,
        examples=[OpenApiExample("A fan-out", response_only=True, value=_TASK_DETAIL_EXAMPLE)],
    )
    def get(self, request: Request, task_id: str) -> Response:
        return _detail(task_id)


class TaskApproveApi(TenantApi):
    required_scopes = (Scope.AGENTS_WRITE, Scope.BILLING_WRITE)

    @extend_schema(
        operation_id="tasks_approve",
        parameters=[TASK_ID_PARAMETER],
        tags=[TAG],
        summary="Approve a task waiting for approval",
        description="It is queued and runs even past the agent's daily budget. Only `waiting_approval` tasks (409).",
        request=None,
        responses=TaskDetailOutput,
    )
    @error_responses(InvalidTransition)
    def post(self, request: Request, task_id: str) -> Response:
        task = agent_task_approve(task=_task_or_404(task_id), actor=self.principal.actor)
        return _detail(task.pk)


class TaskRejectApi(TenantApi):
    required_scopes = (Scope.AGENTS_WRITE, Scope.BILLING_WRITE)

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="tasks_reject",
        parameters=[TASK_ID_PARAMETER],
        tags=[TAG],
        summary="Reject a task waiting for approval",
        description="It is cancelled, with the reason. Only `waiting_approval` tasks (409).",
        request=InputSerializer,
        responses=TaskDetailOutput,
    )
    @error_responses(InvalidTransition)
    def post(self, request: Request, task_id: str) -> Response:
        task = _task_or_404(task_id)
        data = self.validated(self.InputSerializer, request.data)
        task = agent_task_reject(task=task, actor=self.principal.actor, reason=data["reason"])
        return _detail(task.pk)


class TaskCancelApi(TenantApi):
    required_scopes = (Scope.AGENTS_WRITE,)

    @extend_schema(
        operation_id="tasks_cancel",
        parameters=[TASK_ID_PARAMETER],
        tags=[TAG],
        summary="Cancel a task",
        description=(
            "Cancels the task and its unfinished sub-tasks; a parent fan-out then fails. A model call already "
            "under way finishes and its tokens count, but its answer is dropped. Finished tasks: 409."
        ),
        request=None,
        responses=TaskDetailOutput,
    )
    @error_responses(InvalidTransition)
    def post(self, request: Request, task_id: str) -> Response:
        task = agent_task_cancel(task=_task_or_404(task_id), actor=self.principal.actor)
        return _detail(task.pk)
