"""/api/v1/leads: list and read (`leads:read`), change status, notes and details (`leads:write`)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import TenantApi, query_param_choice
from api.pagination import CreatedCursorPagination
from apikeys.scopes import Scope
from conversations.retention import visitor_data_erase
from leads.models import Lead, LeadIntent, LeadStatus
from leads.selectors import lead_get, lead_list
from leads.services import LeadChanges, lead_update

LEAD_ID_PARAMETER = OpenApiParameter("lead_id", str, OpenApiParameter.PATH, description="The lead's id, `lead_…`.")
CHANNELS = ("api", "widget", "portal")


class LeadOutput(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, `lead_…`.")
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    company = serializers.CharField()
    intent = serializers.ChoiceField(choices=LeadIntent.choices, help_text="Empty when unknown.")
    status = serializers.ChoiceField(choices=LeadStatus.choices)
    notes = serializers.CharField()
    conversation = serializers.CharField(
        source="conversation_id",
        allow_null=True,
        help_text="The conversation it came from (`conv_…`); null once purged.",
    )
    agent = serializers.CharField(source="agent_id", allow_null=True, help_text="The agent it talked to (`agt_…`).")
    channel = serializers.CharField(help_text="`api`, `widget` or `portal`.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


_LEAD_EXAMPLE = {
    "id": "lead_7Hq2Lm5Xw9Rt3Zn6Vc1B",
    "name": "Sarah Connor",
    "email": "sarah@cyberdyne.example",
    "phone": "+44 20 7946 0958",
    "company": "Cyberdyne Systems",
    "intent": "pricing",
    "status": "new",
    "notes": "",
    "conversation": "conv_4kP9sT2wXq7LmN3vB8rZ",
    "agent": "agt_4kP9sT2wXq7LmN3vB8rZ",
    "channel": "widget",
    "created_at": "2026-03-02T09:14:07.120000Z",
    "updated_at": "2026-03-02T09:15:41.800000Z",
}


def _lead_or_404(lead_id: str) -> Lead:
    lead = lead_get(lead_id=lead_id)
    if lead is None:
        raise Http404
    return lead


class LeadListApi(TenantApi):
    required_scopes = (Scope.LEADS_READ,)
    pagination_class = CreatedCursorPagination

    @extend_schema(
        operation_id="leads_list",
        tags=["Leads"],
        summary="List leads",
        description=(
            "Contact details visitors gave agents that have the `lead_capture` tool, newest first. One lead per "
            "person: a lead is deduplicated by email (case-insensitive) and by phone (digits only)."
        ),
        responses=LeadOutput(many=True),
        parameters=[
            OpenApiParameter("status", enum=LeadStatus.values, description="Only leads in this status."),
            OpenApiParameter("intent", enum=[v for v in LeadIntent.values if v], description="Only this intent."),
            OpenApiParameter("channel", enum=list(CHANNELS), description="Only leads from this channel."),
            OpenApiParameter("agent", str, description="Only leads captured by this agent (`agt_…`)."),
            OpenApiParameter("q", str, description="Name, email, phone or company contains this (any case)."),
        ],
        examples=[OpenApiExample("A page of leads", response_only=True, value=[_LEAD_EXAMPLE])],
    )
    def get(self, request: Request) -> Response:
        leads = lead_list(
            status=query_param_choice(request, "status", tuple(LeadStatus.values)),
            intent=query_param_choice(request, "intent", tuple(v for v in LeadIntent.values if v)),
            channel=query_param_choice(request, "channel", CHANNELS),
            agent_id=request.query_params.get("agent"),
            search=request.query_params.get("q"),
        )
        return self.paginated(leads, LeadOutput)


class LeadDetailApi(TenantApi):
    required_scopes = (Scope.LEADS_READ,)
    method_scopes = {"PATCH": (Scope.LEADS_WRITE,)}

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
        notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
        name = serializers.CharField(max_length=200, required=False, allow_blank=True)
        company = serializers.CharField(max_length=200, required=False, allow_blank=True)
        intent = serializers.ChoiceField(choices=LeadIntent.choices, required=False, allow_blank=True)

    @extend_schema(
        operation_id="leads_retrieve",
        parameters=[LEAD_ID_PARAMETER],
        tags=["Leads"],
        summary="Get a lead",
        responses=LeadOutput,
        examples=[OpenApiExample("A lead", response_only=True, value=_LEAD_EXAMPLE)],
    )
    def get(self, request: Request, lead_id: str) -> Response:
        return Response(LeadOutput(_lead_or_404(lead_id)).data)

    @extend_schema(
        operation_id="leads_update",
        parameters=[LEAD_ID_PARAMETER],
        tags=["Leads"],
        summary="Change a lead",
        description=(
            "Changes only the fields sent: `status` (any of new, contacted, qualified, closed), `notes`, and the "
            "`name`, `company` and `intent` the agent understood. Email and phone are the lead's identity and "
            "are not changed here. Audited (`lead.updated`)."
        ),
        request=InputSerializer,
        responses=LeadOutput,
        examples=[
            OpenApiExample("Qualify", request_only=True, value={"status": "qualified", "notes": "Call back Tuesday."}),
            OpenApiExample("The changed lead", response_only=True, value={**_LEAD_EXAMPLE, "status": "qualified"}),
        ],
    )
    def patch(self, request: Request, lead_id: str) -> Response:
        lead = _lead_or_404(lead_id)
        changes: LeadChanges = self.validated(self.InputSerializer, request.data)  # type: ignore[assignment]
        lead = lead_update(lead=lead, actor=self.principal.actor, changes=changes)
        return Response(LeadOutput(_lead_or_404(lead.pk)).data)


class VisitorDataEraseApi(TenantApi):
    """Lives with leads because it erases them too; routed as /conversations/erase."""

    required_scopes = (Scope.CONVERSATIONS_WRITE,)

    class InputSerializer(serializers.Serializer):
        session_id = serializers.CharField(
            max_length=200, required=False, allow_blank=True, help_text="The session id the widget or your app used."
        )
        email = serializers.CharField(max_length=254, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        conversations = serializers.IntegerField(help_text="Conversations erased.")
        messages = serializers.IntegerField(help_text="Messages erased with them.")
        leads = serializers.IntegerField(help_text="Leads erased.")

    @extend_schema(
        operation_id="conversations_erase",
        tags=["Conversations"],
        summary="Erase a visitor's data",
        description=(
            "Deletes, at once and for good, everything of one visitor: the conversations with this `session_id` "
            "(any agent, any channel) or this `email`, their messages, the leads with the same email or phone "
            "and those leads' conversations. `lead.created` webhook events already recorded are redacted. Give "
            "`session_id`, `email` or both. Erasing someone with no data answers zeros. Audited as "
            "`visitor_data.erased` (counts only, not the email)."
        ),
        request=InputSerializer,
        responses=OutputSerializer,
        examples=[
            OpenApiExample("By email", request_only=True, value={"email": "sarah@cyberdyne.example"}),
            OpenApiExample("By session", request_only=True, value={"session_id": "visitor-8f2c"}),
            OpenApiExample("Erased", response_only=True, value={"conversations": 2, "messages": 14, "leads": 1}),
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        counts = visitor_data_erase(
            session_id=data.get("session_id"), email=data.get("email"), actor=self.principal.actor
        )
        return Response(self.OutputSerializer(counts).data)
