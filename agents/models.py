"""Agents and the organisation they work in: departments, teams and reporting lines (tenant schema).

No row carries a tenant: the schema is the boundary (STYLE §4). Every write goes through
agents.services; these classes hold only data and the invariants of a single row.
"""

from __future__ import annotations

import secrets
import string

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower

_ALPHABET = string.digits + string.ascii_letters


def _random_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def _new_agent_id() -> str:
    return _random_id("agt_")


def _new_team_id() -> str:
    return _random_id("team_")


def _new_department_id() -> str:
    return _random_id("dept_")


class AgentType(models.TextChoices):
    """What the agent is for. A type the API does not know is stored as DEFAULT_AGENT_TYPE."""

    ASSISTANT = "assistant", "Assistant"
    SUPPORT = "support", "Customer support"
    SALES = "sales", "Sales"
    TASK = "task", "Task worker"
    MANAGER = "manager", "Manager"


DEFAULT_AGENT_TYPE = AgentType.ASSISTANT


class AgentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ARCHIVED = "archived", "Archived"


# The status machine. Active and paused agents hold a slot of the plan's `agents` limit;
# archiving frees it, restoring (archived → draft) does not take one until activation.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    AgentStatus.DRAFT: frozenset({AgentStatus.ACTIVE, AgentStatus.ARCHIVED}),
    AgentStatus.ACTIVE: frozenset({AgentStatus.PAUSED, AgentStatus.ARCHIVED}),
    AgentStatus.PAUSED: frozenset({AgentStatus.ACTIVE, AgentStatus.ARCHIVED}),
    AgentStatus.ARCHIVED: frozenset({AgentStatus.DRAFT}),
}
SLOT_HOLDING_STATUSES = (AgentStatus.ACTIVE, AgentStatus.PAUSED)


class AgentTool(models.TextChoices):
    """What an agent may do besides answering. Chat and delegation check these before acting."""

    KNOWLEDGE_SEARCH = "knowledge_search", "Search the knowledge bases it may use"
    LEAD_CAPTURE = "lead_capture", "Record a visitor's contact details as a lead"
    DELEGATE_TASK = "delegate_task", "Hand tasks to agents in its team or reporting line"
    HUMAN_HANDOFF = "human_handoff", "Hand the conversation to a person"


class ModelProvider(models.TextChoices):
    LOCAL = "local", "Local (offline, answers from knowledge)"
    OPENAI = "openai", "OpenAI-compatible endpoint"


class Department(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_department_id, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(Lower("name"), name="agents_department_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_team_id, editable=False)
    name = models.CharField(max_length=120)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="teams")
    description = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint("department", Lower("name"), name="agents_team_name_unique_ci_per_department")
        ]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=_new_agent_id, editable=False)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=32, choices=AgentType.choices, default=DEFAULT_AGENT_TYPE)
    job_title = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=16, choices=AgentStatus.choices, default=AgentStatus.DRAFT)
    # Team implies department: agents.services keeps `department == team.department`.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="agents")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="agents")
    # Reporting line; agents.services refuses cycles. PROTECT: agents are archived, never deleted.
    manager = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    languages = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    system_prompt = models.TextField(blank=True, max_length=20000)
    # {"provider", "model", "temperature", "max_tokens"}: always complete, see agents.configuration.
    config = models.JSONField(default=dict)
    # What it may answer from; deleting a knowledge base removes it here too.
    knowledge_bases = models.ManyToManyField("knowledge.KnowledgeBase", blank=True, related_name="agents")
    tools = ArrayField(models.CharField(max_length=32, choices=AgentTool.choices), default=list, blank=True)
    daily_token_budget = models.PositiveBigIntegerField(null=True, blank=True)
    # In USD, whatever the workspace's billing currency: chat and task costs come from the model
    # price table (metering.ModelPrice), which is in USD.
    daily_cost_budget = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Model cost per UTC day, in USD (the currency of model prices); empty: no budget.",
    )
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["status", "-created_at"], name="agents_agent_status_created")]

    def __str__(self) -> str:
        return self.name

    @property
    def holds_plan_slot(self) -> bool:
        return self.status in SLOT_HOLDING_STATUSES

    @property
    def is_archived(self) -> bool:
        return self.status == AgentStatus.ARCHIVED


def _new_task_id() -> str:
    return _random_id("task_")


class TaskStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING_APPROVAL = "waiting_approval", "Waiting for approval"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TASK_FINISHED_STATUSES = (TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED)


class AgentTask(models.Model):
    """Work handed to an agent by a person, an API key or another agent (agents.task_services).

    `input` is {"text": instructions, "delegate_to": [agent ids]}: with `delegate_to` the task is a
    fan-out that completes when its children (one per agent) have all finished.
    """

    id = models.CharField(primary_key=True, max_length=32, default=_new_task_id, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="tasks")
    # An agent that delegated it; otherwise created_by_* names the person or API key.
    delegated_by = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="delegated_tasks"
    )
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    title = models.CharField(max_length=200)
    input = models.JSONField(default=dict)
    result = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.QUEUED)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    estimated_tokens = models.PositiveIntegerField(default=0)
    estimated_cost = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    approval_reason = models.CharField(max_length=300, blank=True)
    approved_by_label = models.CharField(max_length=254, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by_label = models.CharField(max_length=254, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["agent", "-created_at"], name="agents_task_agent_created"),
            models.Index(fields=["status", "-created_at"], name="agents_task_status_created"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_finished(self) -> bool:
        return self.status in TASK_FINISHED_STATUSES

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
