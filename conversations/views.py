"""Portal pages: the agent's "Try it" preview (htmx), the conversations browser and transcript,
and the model provider settings (owners and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Permission
from agents.models import Agent
from agents.selectors import agent_get
from audit.services import Actor
from config.errors import ApplicationError
from conversations.forms import ConversationFilterForm, ProviderSettingsForm, TryItForm
from conversations.models import Channel, Conversation
from conversations.selectors import conversation_get, conversation_list, conversation_messages, provider_settings_get
from conversations.services import ChatResult, chat_reply, provider_settings_update
from portal.access import permission_required
from portal.errors import form_add_service_error
from tenants.context import TenantHttpRequest

CONVERSATIONS_PER_PAGE = 50


def _agent_or_404(agent_id: str) -> Agent:
    agent = agent_get(agent_id=agent_id)
    if agent is None:
        raise Http404
    return agent


def try_it_session_id(request: TenantHttpRequest, agent: Agent) -> str:
    """One preview conversation per person and agent (until it completes after inactivity)."""
    return f"portal:{request.user.pk}:{agent.pk}"


@require_POST
@permission_required(Permission.EDIT_CONTENT)
def agent_try_it(request: TenantHttpRequest, agent_id: str) -> HttpResponse:
    """One exchange of the preview: the htmx fragment with the message and the reply (or the
    error), or the same on a page of its own without JavaScript."""
    agent = _agent_or_404(agent_id)
    form = TryItForm(request.POST)
    result: ChatResult | None = None
    error = ""
    if form.is_valid():
        try:
            result = chat_reply(
                agent=agent,
                session_id=try_it_session_id(request, agent),
                message=form.cleaned_data["message"],
                channel=Channel.PORTAL,
                user_id=str(request.user.pk),
            )
        except ApplicationError as exc:
            error = exc.detail
    else:
        error = "; ".join(str(problem) for problems in form.errors.values() for problem in problems)
    context = {"agent": agent, "message": request.POST.get("message", ""), "result": result, "error": error}
    is_htmx = bool(getattr(request, "htmx", False))  # django_htmx's middleware sets it
    template = "conversations/_try_it_exchange.html" if is_htmx else "conversations/try_it_page.html"
    return render(request, template, context, status=200 if result or is_htmx else 400)


@require_http_methods(["GET"])
@permission_required(Permission.VIEW_PORTAL)
def conversations_page(request: TenantHttpRequest) -> HttpResponse:
    form = ConversationFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        conversations = conversation_list().none()
    else:
        conversations = conversation_list(**form.selector_filters()) if form.is_bound else conversation_list()
    context = {
        "form": form,
        "page": Paginator(conversations, CONVERSATIONS_PER_PAGE).get_page(request.GET.get("page")),
        "is_filtered": form.is_bound and any(request.GET.get(name) for name in form.fields),
    }
    return render(request, "conversations/conversations.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET"])
@permission_required(Permission.VIEW_PORTAL)
def conversation_page(request: TenantHttpRequest, conversation_id: str) -> HttpResponse:
    conversation: Conversation | None = conversation_get(conversation_id=conversation_id)
    if conversation is None:
        raise Http404
    context = {"conversation": conversation, "transcript": conversation_messages(conversation=conversation)}
    return render(request, "conversations/conversation.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(Permission.MANAGE_SETTINGS)
def model_providers_page(request: TenantHttpRequest) -> HttpResponse:
    current = provider_settings_get()
    initial = {
        "base_url": current.base_url,
        "default_model": current.default_model,
        "timeout_seconds": current.timeout_seconds,
        "max_retries": current.max_retries,
    }
    form = ProviderSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            provider_settings_update(
                base_url=data["base_url"],
                default_model=data["default_model"],
                timeout_seconds=data["timeout_seconds"],
                max_retries=data["max_retries"],
                api_key=data["api_key"] or None,
                clear_api_key=data["clear_api_key"],
                actor=Actor.for_user(request.user),  # type: ignore[arg-type]
            )
        except ApplicationError as exc:
            form_add_service_error(form, exc)
        else:
            messages.success(request, _("Model provider settings saved."))
            return redirect("portal:model_providers")
    status = 400 if form.errors else 200
    return render(request, "conversations/model_providers.html", {"form": form, "current": current}, status=status)
