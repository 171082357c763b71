"""/api/v1/ — one line per endpoint; the views live with their apps."""

from django.urls import include, path

from api.apis import MeApi
from apikeys.apis import ApiKeyDetailApi, ApiKeyListCreateApi, ApiKeyRevokeApi, ApiKeyRotateApi
from audit.apis import AuditLogApi
from billing.add_on_apis import AddOnCancelApi, AddOnListApi, AddOnPurchaseApi
from billing.apis import (
    InvoiceListApi,
    PlanListApi,
    ProrationPreviewApi,
    SubscriptionApi,
    SubscriptionCancelApi,
    SubscriptionReactivateApi,
    SubscriptionUpgradeApi,
)
from leads.apis import VisitorDataEraseApi
from tenants.apis import TenantDetailApi
from usage.apis import SubscriptionUsageApi, UsageCostsApi, UsageSeriesApi

app_name = "api"

urlpatterns = [
    path("tenant", TenantDetailApi.as_view(), name="tenant"),
    path("me", MeApi.as_view(), name="me"),
    path("api-keys", ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>", ApiKeyDetailApi.as_view(), name="api-key"),
    path("api-keys/<str:key_id>/rotate", ApiKeyRotateApi.as_view(), name="api-key-rotate"),
    path("api-keys/<str:key_id>/revoke", ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
    path("audit-log", AuditLogApi.as_view(), name="audit-log"),
    path("plans", PlanListApi.as_view(), name="plans"),
    path("subscription", SubscriptionApi.as_view(), name="subscription"),
    path("subscription/upgrade", SubscriptionUpgradeApi.as_view(), name="subscription-upgrade"),
    path("subscription/cancel", SubscriptionCancelApi.as_view(), name="subscription-cancel"),
    path("subscription/reactivate", SubscriptionReactivateApi.as_view(), name="subscription-reactivate"),
    path("add-ons", AddOnListApi.as_view(), name="add-ons"),
    path("add-ons/<slug:code>/purchase", AddOnPurchaseApi.as_view(), name="add-on-purchase"),
    path("add-ons/<slug:code>/cancel", AddOnCancelApi.as_view(), name="add-on-cancel"),
    path("subscription/proration-preview", ProrationPreviewApi.as_view(), name="subscription-proration-preview"),
    path("invoices", InvoiceListApi.as_view(), name="invoices"),
    path("subscription/usage", SubscriptionUsageApi.as_view(), name="subscription-usage"),
    path("usage", UsageSeriesApi.as_view(), name="usage"),
    path("usage/costs", UsageCostsApi.as_view(), name="usage-costs"),
    path("", include("webhooks.urls")),
    path("", include("agents.urls")),
    path("", include("knowledge.urls")),
    # Before conversations' own routes, where `erase` would be taken for a conversation id.
    path("conversations/erase", VisitorDataEraseApi.as_view(), name="conversations-erase"),
    path("", include("conversations.urls")),
    path("", include("leads.urls")),
]
