"""Portal pages for delegated tasks: the list (with a status filter), one task with its whole
chain, "Assign a task" on an agent's page, and approve / reject / cancel.

Everyone may look; assigning and cancelling need EDIT_CONTENT (owners, admins, members);
approving or rejecting spend past an agent's budget needs MANAGE_BILLING (owners, admins).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Permission
from agents.models import AgentTask
from agents.task_forms import TaskAssignForm, TaskFilterForm
from agents.task_selectors import agent_task_get, agent_task_list, task_ancestors, task_children
from agents.task_services import agent_task_approve, agent_task_cancel, agent_task_create, agent_task_reject
from audit.services import Actor
from config.errors import ApplicationError
from portal.access import permission_required
from portal.errors import form_add_service_error, message_service_error
from tenants.context import TenantHttpRequest

TASKS_PER_PAGE = 50


def _task_or_404(task_id: str) -> AgentTask:
    task = agent_task_get(task_id=task_id)
    if task is None:
        raise Http404
    return task


@require_http_methods(["GET"])
@permission_required(Permission.VIEW_PORTAL)
def tasks_page(request: TenantHttpRequest) -> HttpResponse:
    form = TaskFilterForm(request.GET or None)
    is_valid = not form.is_bound or form.is_valid()
    status = form.cleaned_data.get("status") if form.is_bound and is_valid else None
    tasks = agent_task_list(status=status or None) if is_valid else agent_task_list().none()
    context = {
        "form": form,
        "page": Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page")),
        "is_filtered": bool(status),
    }
    return render(request, "agents/tasks.html", context, status=200 if is_valid else 400)


@require_http_methods(["GET"])
@permission_required(Permission.VIEW_PORTAL)
def task_page(request: TenantHttpRequest, task_id: str) -> HttpResponse:
    task = _task_or_404(task_id)
    context = {"task": task, "ancestors": task_ancestors(task=task), "children": task_children(task=task)}
    return render(request, "agents/task.html", context)


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def task_assign(request: TenantHttpRequest, agent_id: str) -> HttpResponse:
    from agents.views import agent_page_render, agent_required

    agent = agent_required(agent_id)
    form = TaskAssignForm(request.POST, agent=agent)
    if form.is_valid():
        try:
            task = agent_task_create(
                agent=agent,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                delegate_to=form.cleaned_data.get("delegate_to") or None,
                actor=Actor.for_user(request.user),
            )
        except ApplicationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _created_message(task))
            return redirect("portal:task", task_id=task.pk)
    return agent_page_render(request, agent, task_form=form, status=400)


def _created_message(task: AgentTask) -> str:
    if task.status == "waiting_approval":
        return f"“{task.title}” waits for an owner's or admin's approval: {task.approval_reason}"
    return f"“{task.title}” was assigned to {task.agent.name}."


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def task_approve(request: TenantHttpRequest, task_id: str) -> HttpResponse:
    return _act(request, task_id, "approve")


@require_POST
@permission_required(Permission.MANAGE_BILLING)
def task_reject(request: TenantHttpRequest, task_id: str) -> HttpResponse:
    return _act(request, task_id, "reject")


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def task_cancel(request: TenantHttpRequest, task_id: str) -> HttpResponse:
    return _act(request, task_id, "cancel")


def _act(request: TenantHttpRequest, task_id: str, action: str) -> HttpResponse:
    task = _task_or_404(task_id)
    actor = Actor.for_user(request.user)
    try:
        if action == "approve":
            task = agent_task_approve(task=task, actor=actor)
        elif action == "reject":
            task = agent_task_reject(task=task, actor=actor, reason=request.POST.get("reason", "")[:500])
        else:
            task = agent_task_cancel(task=task, actor=actor)
    except ApplicationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, f"“{task.title}” is now {task.get_status_display().lower()}.")
    return redirect("portal:task", task_id=task.pk)
