"""Portal pages: the agents list, an agent's page, the create/edit form and the org chart.

Everyone in the workspace may look (VIEW_PORTAL); changing needs EDIT_CONTENT (owners, admins,
members). Viewers get the same pages without the buttons, and a 403 page if they post anyway.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Permission
from agents.budgets import agent_spend_today
from agents.forms import AgentFilterForm, AgentForm, DepartmentForm, TeamForm
from agents.models import STATUS_TRANSITIONS, Agent, AgentStatus
from agents.org_services import department_create, department_delete, team_create, team_delete
from agents.selectors import (
    agent_count_active,
    agent_get,
    agent_list,
    agent_reports,
    department_get,
    org_chart,
    team_get,
)
from agents.services import agent_archive, agent_create, agent_update
from agents.task_forms import TaskAssignForm
from agents.task_selectors import agent_task_list
from audit.services import Actor
from billing.entitlements import entitlements_for
from billing.models import Limit
from config.errors import ApplicationError, ValidationFailed
from portal.access import permission_required
from portal.errors import form_add_service_error, message_service_error
from tenants.context import TenantHttpRequest

AGENTS_PER_PAGE = 50
RECENT_TASKS = 10
# The buttons an agent's page offers, in order: (target status, label).
STATUS_ACTIONS = {
    AgentStatus.ACTIVE: "Activate",
    AgentStatus.PAUSED: "Pause",
    AgentStatus.DRAFT: "Restore as draft",
}


def _agent_or_404(agent_id: str) -> Agent:
    agent = agent_get(agent_id=agent_id)
    if agent is None:
        raise Http404
    return agent


def _slots(request: TenantHttpRequest) -> dict[str, int | None]:
    return {
        "in_use": agent_count_active(),
        "allowed": entitlements_for(tenant=request.tenant).limits[Limit.AGENTS],
    }


@require_http_methods(["GET"])
@permission_required(Permission.VIEW_PORTAL)
def agents_page(request: TenantHttpRequest) -> HttpResponse:
    form = AgentFilterForm(request.GET or None)
    is_filtered = form.is_bound and any(request.GET.get(name) for name in form.fields)
    if form.is_bound and not form.is_valid():
        agents = agent_list().none()
    else:
        agents = agent_list(**form.selector_filters()) if form.is_bound else agent_list()
    context = {
        "form": form,
        "page": Paginator(agents, AGENTS_PER_PAGE).get_page(request.GET.get("page")),
        "is_filtered": is_filtered,
        "slots": _slots(request),
    }
    return render(request, "agents/agents.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET"])
@permission_required(Permission.VIEW_PORTAL)
def agent_page(request: TenantHttpRequest, agent_id: str) -> HttpResponse:
    return agent_page_render(request, _agent_or_404(agent_id))


def agent_required(agent_id: str) -> Agent:
    """The agent, or 404 (for the other portal views of an agent, such as its tasks)."""
    return _agent_or_404(agent_id)


def agent_page_render(
    request: TenantHttpRequest, agent: Agent, *, task_form: TaskAssignForm | None = None, status: int = 200
) -> HttpResponse:
    """An agent's page; `task_form` is the "Assign a task" form (bound, with errors, after a refusal)."""
    actions = [
        (target, label) for target, label in STATUS_ACTIONS.items() if target in STATUS_TRANSITIONS[agent.status]
    ]
    context = {
        "agent": agent,
        "reports": agent_reports(agent=agent),
        "status_actions": actions,
        "tasks": agent_task_list(agent_id=agent.pk)[:RECENT_TASKS],
        "task_form": task_form or TaskAssignForm(agent=agent),
        "spend": agent_spend_today(agent=agent),
    }
    return render(request, "agents/agent.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.EDIT_CONTENT)
def agent_new(request: TenantHttpRequest) -> HttpResponse:
    form = AgentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                agent = agent_create(actor=Actor.for_user(request.user), **form.service_arguments())
            except ValidationFailed as error:
                form.add_service_error(error)
                status = 400
            except ApplicationError as error:
                form_add_service_error(form, error)
                status = error.status
            else:
                messages.success(request, f"“{agent.name}” was created as {agent.get_status_display().lower()}.")
                return redirect("portal:agent", agent_id=agent.pk)
        else:
            status = 400
    context = {"form": form, "agent": None, "slots": _slots(request)}
    return render(request, "agents/agent_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.EDIT_CONTENT)
def agent_edit(request: TenantHttpRequest, agent_id: str) -> HttpResponse:
    agent = _agent_or_404(agent_id)
    if agent.is_archived:
        messages.info(request, "This agent is archived. Restore it before editing.")
        return redirect("portal:agent", agent_id=agent.pk)
    form = AgentForm(request.POST or None, agent=agent)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                agent_update(agent=agent, actor=Actor.for_user(request.user), changes=form.service_arguments())  # type: ignore[arg-type]
            except ValidationFailed as error:
                form.add_service_error(error)
                status = 400
            except ApplicationError as error:
                form_add_service_error(form, error)
                status = error.status
            else:
                messages.success(request, f"“{form.cleaned_data['name']}” was saved.")
                return redirect("portal:agent", agent_id=agent.pk)
        else:
            status = 400
    return render(request, "agents/agent_form.html", {"form": form, "agent": agent}, status=status)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def agent_status(request: TenantHttpRequest, agent_id: str) -> HttpResponse:
    agent = _agent_or_404(agent_id)
    target = request.POST.get("status", "")
    try:
        agent = agent_update(agent=agent, actor=Actor.for_user(request.user), changes={"status": target})
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"“{agent.name}” is now {agent.get_status_display().lower()}.")
    return redirect("portal:agent", agent_id=agent.pk)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def agent_archive_action(request: TenantHttpRequest, agent_id: str) -> HttpResponse:
    agent = agent_archive(agent=_agent_or_404(agent_id), actor=Actor.for_user(request.user))
    messages.success(request, f"“{agent.name}” was archived. Its history is kept; you can restore it.")
    return redirect("portal:agent", agent_id=agent.pk)


# --- The org chart, with its departments and teams ---------------------------------------------


@require_http_methods(["GET"])
@permission_required(Permission.VIEW_PORTAL)
def org_chart_page(request: TenantHttpRequest) -> HttpResponse:
    return _org_chart_render(request, DepartmentForm(), TeamForm())


def _org_chart_render(
    request: TenantHttpRequest, department_form: DepartmentForm, team_form: TeamForm, status: int = 200
) -> HttpResponse:
    context = {"chart": org_chart(), "department_form": department_form, "team_form": team_form}
    return render(request, "agents/org_chart.html", context, status=status)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def department_new(request: TenantHttpRequest) -> HttpResponse:
    form = DepartmentForm(request.POST)
    if form.is_valid():
        try:
            department = department_create(name=form.cleaned_data["name"], actor=Actor.for_user(request.user))
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, f"Department “{department.name}” was added.")
            return redirect("portal:org_chart")
    return _org_chart_render(request, form, TeamForm(), status=400)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def team_new(request: TenantHttpRequest) -> HttpResponse:
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = team_create(
                name=form.cleaned_data["name"],
                department_id=form.cleaned_data["department"],
                actor=Actor.for_user(request.user),
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, f"Team “{team.name}” was added.")
            return redirect("portal:org_chart")
    return _org_chart_render(request, DepartmentForm(), form, status=400)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def department_remove(request: TenantHttpRequest, department_id: str) -> HttpResponse:
    department = department_get(department_id=department_id)
    if department is None:
        raise Http404
    try:
        department_delete(department=department, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"Department “{department.name}” was deleted.")
    return redirect("portal:org_chart")


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def team_remove(request: TenantHttpRequest, team_id: str) -> HttpResponse:
    team = team_get(team_id=team_id)
    if team is None:
        raise Http404
    try:
        team_delete(team=team, actor=Actor.for_user(request.user))
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"Team “{team.name}” was deleted.")
    return redirect("portal:org_chart")
