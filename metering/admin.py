"""Staff admin: the model price table, usage per tenant this month (with token costs), and
conversations per tenant (counts and cost, per agent on a tenant's page; never message contents)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.services import Actor
from conversations.selectors import conversation_stats_per_agent
from metering.models import ModelPrice, TenantConversations, TenantUsage
from metering.selectors import model_price_map, tenants_conversation_totals, tenants_month_usage
from metering.services import model_price_delete, model_price_save
from usage.meters import COUNTERS, Meter, UsagePeriod, is_gauge


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ("provider", "model", "input_price_per_1k", "output_price_per_1k", "currency", "updated_at")
    search_fields = ("provider", "model")
    list_filter = ("provider",)

    def save_model(self, request: HttpRequest, obj: ModelPrice, form: Any, change: bool) -> None:
        model_price_save(price=obj, actor=Actor.for_staff(request.user))

    def delete_model(self, request: HttpRequest, obj: ModelPrice) -> None:
        model_price_delete(price=obj, actor=Actor.for_staff(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ModelPrice]) -> None:
        for price in queryset:
            model_price_delete(price=price, actor=Actor.for_staff(request.user))


@admin.register(TenantUsage)
class TenantUsageAdmin(admin.ModelAdmin):
    """Read-only: each tenant's API calls, chat messages, tokens and token cost this month (UTC),
    read from every listed tenant's schema in one query."""

    list_display = ("name", "slug", "plan", "status", "api_calls", "chat_messages", "tokens", "token_cost")
    list_filter = ("status", "plan")
    search_fields = ("slug", "name")
    list_select_related = ("plan",)
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        period = UsagePeriod.of(timezone.now())
        tenants = list(changelist.result_list)
        usage = tenants_month_usage(
            tenants=tenants, first_day=period.first_day.isoformat(), last_day=period.last_day.isoformat()
        )
        prices = model_price_map()
        for tenant in tenants:
            totals = dict.fromkeys(COUNTERS, 0)
            cost = Decimal(0)
            for row in usage.get(tenant.pk, []):
                if is_gauge(row.meter):
                    continue
                totals[row.meter] = totals.get(row.meter, 0) + row.quantity
                price = prices.get(row.model)
                if row.meter == Meter.TOKENS and price is not None:
                    per_1k = price.output_per_1k if row.token_type == "output" else price.input_per_1k
                    cost += Decimal(row.quantity) * per_1k / 1000
            tenant.usage_totals = totals  # type: ignore[attr-defined]
            tenant.usage_cost = cost.quantize(Decimal("0.01"))  # type: ignore[attr-defined]
        changelist.result_list = tenants  # type: ignore[assignment]
        return changelist

    @admin.display(description="API calls (month)")
    def api_calls(self, tenant: Any) -> str:
        return f"{getattr(tenant, 'usage_totals', {}).get(Meter.API_CALLS, 0):,}"

    @admin.display(description="chat messages (month)")
    def chat_messages(self, tenant: Any) -> str:
        return f"{getattr(tenant, 'usage_totals', {}).get(Meter.CHAT_MESSAGES, 0):,}"

    @admin.display(description="tokens (month)")
    def tokens(self, tenant: Any) -> str:
        return f"{getattr(tenant, 'usage_totals', {}).get(Meter.TOKENS, 0):,}"

    @admin.display(description="token cost (USD)")
    def token_cost(self, tenant: Any) -> str:
        return str(getattr(tenant, "usage_cost", ""))


class ReadOnlyTenantAdmin(admin.ModelAdmin):
    """A staff list of tenants with numbers read from their schemas: nothing to add, change or delete."""

    list_filter = ("status", "plan")
    search_fields = ("slug", "name")
    list_select_related = ("plan",)
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TenantConversations)
class TenantConversationsAdmin(ReadOnlyTenantAdmin):
    """Read-only: each tenant's conversations, messages and their cost (all time, one query over
    the listed schemas); a tenant's page splits them per agent. Privacy: numbers and agent names
    only, never message contents or visitor details."""

    list_display = ("name", "slug", "plan", "status", "conversations", "messages", "conversation_cost")

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        tenants = list(changelist.result_list)
        totals = tenants_conversation_totals(tenants=tenants)
        for tenant in tenants:
            tenant.conversation_totals = totals.get(tenant.pk)  # type: ignore[attr-defined]
        changelist.result_list = tenants  # type: ignore[assignment]
        return changelist

    @admin.display(description="conversations")
    def conversations(self, tenant: Any) -> str:
        totals = getattr(tenant, "conversation_totals", None)
        return f"{totals.conversations:,}" if totals else "0"

    @admin.display(description="messages")
    def messages(self, tenant: Any) -> str:
        totals = getattr(tenant, "conversation_totals", None)
        return f"{totals.messages:,}" if totals else "0"

    @admin.display(description="cost (USD)")
    def conversation_cost(self, tenant: Any) -> str:
        totals = getattr(tenant, "conversation_totals", None)
        return str(totals.cost.quantize(Decimal("0.0001"))) if totals else "0.0000"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """One tenant's conversations per agent, read inside its schema."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenant = self.get_object(request, object_id)
        if tenant is None:
            raise Http404
        with schema_context(tenant.schema_name):
            per_agent = conversation_stats_per_agent()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Conversations of {tenant.name}",
            "tenant": tenant,
            "per_agent": per_agent,
            "total_conversations": sum(row.conversations for row in per_agent),
            "total_cost": sum((row.cost for row in per_agent), start=Decimal(0)),
        }
        return TemplateResponse(request, "admin/metering/tenant_conversations.html", context)
