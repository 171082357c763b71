"""Django REST framework and the OpenAPI schema."""

from config.env import BASE_DIR, env
from config.settings.database import CACHES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AgentryAutoSchema",
    "EXCEPTION_HANDLER": "config.problems.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Agentry API",
    # The long introduction (base URLs, keys, limits, idempotency, errors) shown atop /api/docs/.
    "DESCRIPTION": (BASE_DIR / "api" / "schema_description.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    # Relative: the document works on every tenant host and on the public host (see DESCRIPTION).
    "SERVERS": [{"url": "/", "description": "The host that served this document"}],
    # The tenant URLconf has the API routes; the public host serves the same document.
    "SERVE_URLCONF": "config.urls_tenant",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "TAGS": [
        {"name": "Workspace", "description": "The calling workspace and the caller."},
        {"name": "API keys", "description": "Create, list, rotate and revoke API keys (scope `keys:manage`)."},
        {"name": "Audit log", "description": "The workspace's append-only audit trail (scope `audit:read`)."},
        {"name": "Billing", "description": "Plans, subscription and invoices (`billing:read`, `billing:write`)."},
        {"name": "Usage", "description": "Usage against the plan, time series and token costs (`usage:read`)."},
        {"name": "Agents", "description": "Agents: create, change, archive (`agents:read`, `agents:write`)."},
        {"name": "Organisation", "description": "Departments, teams and the org chart (`agents:*` scopes)."},
        {"name": "Knowledge", "description": "Knowledge bases, FAQs, documents and search (`knowledge:write`)."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "ErrorCodeEnum": "api.problem_schema.ERROR_CODE_CHOICES",
        "MeterEnum": "usage.meters.Meter.choices",
        "ApiKeyStatusEnum": "apikeys.apis.STATUSES",
        "TenantStatusEnum": "tenants.models.TenantStatus.values",
        "ScopeEnum": "apikeys.apis.SCOPE_CHOICES",
        "CallerTypeEnum": ["api_key", "user"],
        "CurrencyEnum": "billing.models.Currency.values",
        "BillingCycleEnum": "billing.models.BillingCycle.values",
        "WebhookEventTypeEnum": "webhooks.models.EventType.choices",
        "WebhookSubscribableEventTypeEnum": "webhooks.models.SUBSCRIBABLE_EVENT_TYPE_CHOICES",
        "AgentStatusEnum": "agents.models.AgentStatus.choices",
        "KnowledgeDocumentStatusEnum": "knowledge.models.DocumentStatus.choices",
        "KnowledgeLanguageEnum": "knowledge.languages.KnowledgeLanguage.choices",
        "KnowledgeDocumentFormatEnum": "knowledge.models.DocumentSource.choices",
        "KnowledgeTextFormatEnum": "knowledge.apis.TEXT_FORMAT_CHOICES",
        "AgentNewStatusEnum": "agents.apis.NEW_AGENT_STATUS_CHOICES",
        "AgentTypeEnum": "agents.models.AgentType.choices",
        "AgentTaskStatusEnum": "agents.models.TaskStatus.choices",
        "ConversationStatusEnum": "conversations.models.ConversationStatus.choices",
        "ConversationChannelEnum": "conversations.models.Channel.choices",
        "LeadStatusEnum": "leads.models.LeadStatus.choices",
        "LeadIntentEnum": "leads.models.LeadIntent.choices",
        "ApiKeyKindEnum": "apikeys.models.KeyKind.choices",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "displayOperationId": True},
    "REDOC_DIST": "SIDECAR",
}

# Redis used by the API rate limiter (GCRA script); defaults to the cache's Redis.
RATE_LIMIT_REDIS_URL = env("RATE_LIMIT_REDIS_URL", default=CACHES["default"]["LOCATION"])
# Limits for signed-in portal users calling the API (keys use their plan's limits).
SESSION_RATE_LIMIT_PER_MINUTE = env.int("SESSION_RATE_LIMIT_PER_MINUTE", default=120)
SESSION_RATE_LIMIT_BURST = env.int("SESSION_RATE_LIMIT_BURST", default=240)
# A last resort for keys whose tenant's entitlements have no request limits (see api.base.rate_limit_for).
DEFAULT_RATE_LIMIT_PER_MINUTE = 60
DEFAULT_RATE_LIMIT_BURST = 120
IDEMPOTENCY_KEY_TTL_HOURS = 24
SIGNATURE_TOLERANCE_SECONDS = 300
