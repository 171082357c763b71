"""The OpenAPI side of the error contract: the `Problem` component, its examples, and the
headers and request parameters every API operation shares (used by api/schema.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers

from config.errors import ERROR_CODES, ApplicationError, AuthenticationError
from config.problems import problem_body

# Named "ErrorCodeEnum" in the schema (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
ERROR_CODE_CHOICES = [(code, info.description) for code, info in ERROR_CODES.items()]

# The 401 codes of an API request, in the order authentication checks them.
AUTHENTICATION_CODES = (
    "not_authenticated",
    "malformed_credentials",
    "invalid_api_key",
    "api_key_revoked",
    "api_key_expired",
    "signature_required",
    "signature_invalid",
    "signature_expired",
    "signature_replayed",
)

EXAMPLE_REQUEST_ID = "req_5f0c6a3e9b1d4c7a8e2f1b0d3c4a5e6f"


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="The field, dotted for nested ones (`scopes.0`), a header name, or `non_field_errors`."
    )
    code = serializers.CharField(help_text="What is wrong: `required`, `invalid`, `max_length`, `invalid_choice`, …")
    message = serializers.CharField(help_text="Human-readable; may change, do not parse it.")


class UpgradeHintSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The plan's or add-on's code (see GET /api/v1/plans).")
    name = serializers.CharField()


class ReduceItemSerializer(serializers.Serializer):
    limit = serializers.CharField(help_text="The limit, e.g. `team_members`.")
    allowed = serializers.IntegerField(help_text="What the target plan allows.")
    current_usage = serializers.IntegerField(help_text="What is in use now.")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, sent as `application/problem+json` for every error."""

    type = serializers.URLField(help_text="`https://docs.agentry.dev/errors#<code>`: documents the code.")
    title = serializers.CharField(help_text="Short summary of the code.")
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.ChoiceField(
        choices=ERROR_CODE_CHOICES, help_text="Stable and machine-readable: branch on this, not on title or detail."
    )
    detail = serializers.CharField(help_text="What went wrong in this request, for humans.")
    request_id = serializers.CharField(help_text="Also in the `X-Request-ID` header and in our logs.")
    # A declared field, not Serializer.errors: DRF's metaclass moves it into `_declared_fields`.
    errors = FieldErrorSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="`validation_error` only: one entry per problem found."
    )
    required_scopes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="`insufficient_scope`: the endpoint's scopes."
    )
    missing_scopes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="`insufficient_scope`: those the caller lacks."
    )
    scopes_not_held = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="`permission_denied` on key creation or rotation: the key's scopes the caller does not hold.",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="`rate_limited`, `quota_exceeded`: seconds to wait (also in `Retry-After`)."
    )
    meter = serializers.CharField(required=False, help_text="`quota_exceeded`: the meter, e.g. `api_calls`.")
    reset_at = serializers.DateTimeField(required=False, help_text="`quota_exceeded`: when the quota resets.")
    feature = serializers.CharField(required=False, help_text="`feature_not_in_plan`: the feature code.")
    limit = serializers.CharField(
        required=False, help_text="`plan_limit_reached`, `quota_exceeded`: the limit, e.g. `team_members`."
    )
    allowed = serializers.IntegerField(
        required=False, help_text="`plan_limit_reached`, `quota_exceeded`: the workspace's limit."
    )
    current_usage = serializers.IntegerField(
        required=False, help_text="`plan_limit_reached`, `quota_exceeded`: what is in use (used this month)."
    )
    requested = serializers.IntegerField(required=False, help_text="`plan_limit_reached`: what the request adds.")
    agent_id = serializers.CharField(required=False, help_text="`agent_budget_exceeded`: the agent.")
    budget = serializers.CharField(
        required=False, help_text="`agent_budget_exceeded`: the daily budget, a decimal string (tokens or money)."
    )
    spent = serializers.CharField(required=False, help_text="`agent_budget_exceeded`: spent today, as `budget`.")
    currency = serializers.CharField(required=False, help_text="`agent_budget_exceeded`: the money's currency.")
    resets_at = serializers.DateTimeField(
        required=False, help_text="`agent_budget_exceeded`: the next UTC midnight, when the budget resets."
    )
    retryable = serializers.BooleanField(
        required=False, help_text="`model_provider_error`: whether the same request may succeed if retried later."
    )
    provider = serializers.CharField(required=False, help_text="`model_provider_error`: the provider, e.g. `openai`.")
    provider_status = serializers.IntegerField(
        required=False, help_text="`model_provider_error`: the provider's HTTP status, when it answered."
    )
    agent_status = serializers.CharField(required=False, help_text="`agent_not_active`: the agent's status.")
    plan = serializers.CharField(required=False, help_text="`downgrade_blocked`: the target plan's code.")
    reduce = ReduceItemSerializer(
        many=True, required=False, help_text="`downgrade_blocked`: each limit whose usage must come down first."
    )
    upgrade_plan = UpgradeHintSerializer(
        required=False,
        allow_null=True,
        help_text="`feature_not_in_plan`, `plan_limit_reached`: the cheapest public plan that would do, or null.",
    )
    upgrade_add_on = UpgradeHintSerializer(
        required=False,
        allow_null=True,
        help_text="`feature_not_in_plan`, `plan_limit_reached`: an add-on that would do, or null.",
    )


def _application_error_classes(base: type[ApplicationError] = ApplicationError) -> list[type[ApplicationError]]:
    return [base] + [cls for sub in base.__subclasses__() for cls in _application_error_classes(sub)]


def _example_title(code: str) -> str:
    if ERROR_CODES[code].status == 401:
        return AuthenticationError.title
    if code == "internal_error":
        return "Internal server error."
    for error_class in _application_error_classes():
        if error_class.code == code:
            return error_class.title
    return ERROR_CODES[code].description


_EXAMPLE_EXTRAS: dict[str, dict[str, Any]] = {
    "validation_error": {
        "detail": "The submitted data is not valid.",
        "errors": [
            {"field": "name", "code": "required", "message": "This field is required."},
            {"field": "scopes.0", "code": "invalid_choice", "message": '"agents:delete" is not a valid choice.'},
        ],
    },
    "rate_limited": {
        "detail": "Rate limit of 300 requests per minute exceeded. Retry in 1 s.",
        "retry_after": 1,
    },
    "quota_exceeded": {
        "detail": (
            "This workspace has used its 100,000 API calls for 2026-11. "
            "The quota resets at 2026-12-01T00:00:00+00:00; upgrade the plan to continue now."
        ),
        "meter": "api_calls",
        "limit": "api_calls_per_month",
        "allowed": 100000,
        "current_usage": 100000,
        "reset_at": "2026-12-01T00:00:00Z",
        "retry_after": 86400,
    },
    "agent_budget_exceeded": {
        "detail": (
            "The agent “Support Lead” has used its daily tokens budget (50000). It resets at 2026-12-08T00:00:00+00:00."
        ),
        "agent_id": "agt_Z8x3Cv6Bn1Mq4Wr7Ty2U",
        "limit": "daily_token_budget",
        "budget": "50000",
        "spent": "50412",
        "currency": "USD",
        "resets_at": "2026-12-08T00:00:00Z",
        "retry_after": 22113,
    },
    "model_provider_error": {
        "detail": "The model provider answered 503 (Service Unavailable). Try again in a moment.",
        "provider": "openai",
        "retryable": True,
        "provider_status": 503,
    },
    "agent_not_active": {
        "detail": "The agent “Customer Support Agent” is paused: only active agents can chat.",
        "agent_id": "agt_4kP9sT2wXq7LmN3vB8rZ",
        "agent_status": "paused",
    },
    "permission_denied": {"detail": "You do not have permission to perform this action."},
    "feature_not_in_plan": {
        "detail": "Your plan does not include Webhooks. Upgrade to Professional.",
        "feature": "webhooks",
        "upgrade_plan": {"code": "professional", "name": "Professional"},
        "upgrade_add_on": None,
    },
    "downgrade_blocked": {
        "detail": "Reduce team members from 7 to 5 before moving to Starter.",
        "plan": "starter",
        "reduce": [{"limit": "team_members", "allowed": 5, "current_usage": 7}],
    },
    "plan_limit_reached": {
        "detail": (
            "This workspace's limit of 5 agents is reached (5 in use). "
            "Upgrade to Professional, or add the 10 extra agents add-on."
        ),
        "limit": "agents",
        "allowed": 5,
        "current_usage": 5,
        "requested": 1,
        "upgrade_plan": {"code": "professional", "name": "Professional"},
        "upgrade_add_on": {"code": "extra_agents_10", "name": "10 extra agents"},
    },
}


def problem_example(code: str, **extra: Any) -> dict[str, Any]:
    """A realistic problem body for `code` (the real shape, from config.problems.problem_body)."""
    info = ERROR_CODES[code]
    fields = {"detail": info.description, **_EXAMPLE_EXTRAS.get(code, {}), **extra}
    body = problem_body(status=info.status, code=code, title=_example_title(code), **fields)
    return {**body, "request_id": EXAMPLE_REQUEST_ID}


def _header(schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"schema": schema, "description": description, "required": required}


HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": _header(
        {"type": "string", "example": EXAMPLE_REQUEST_ID},
        "The request's id: the caller's own `X-Request-ID` if well-formed, else a new `req_…`. "
        "Also in error bodies and our logs; quote it to support.",
        required=True,
    ),
    "X-RateLimit-Limit": _header(
        {"type": "integer", "example": 300},
        "Requests per minute allowed to the caller (the key, or the signed-in user). "
        "Sent on every response to an identified caller.",
    ),
    "X-RateLimit-Remaining": _header(
        {"type": "integer", "example": 599},
        "Requests that may be made right now, back to back (what is left of the burst).",
    ),
    "X-RateLimit-Reset": _header(
        {"type": "integer", "example": 1},
        "Seconds until the bucket is full again, i.e. until Remaining is back at the burst size.",
    ),
    "Retry-After": _header(
        {"type": "integer", "example": 1},
        "Seconds to wait before the next request can succeed.",
        required=True,
    ),
    "WWW-Authenticate": _header(
        {"type": "string", "example": 'Bearer realm="agentry"'}, "The authentication challenge.", required=True
    ),
    "Idempotent-Replayed": _header(
        {"type": "string", "enum": ["true"]},
        "Present when this is the stored response of an earlier request with the same Idempotency-Key and body.",
    ),
}

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description=(
        "Makes retries safe: the same key with the same body within 24 hours returns the stored response "
        "(with `Idempotent-Replayed: true`) instead of acting again; with another body it gets 422 "
        "`idempotency_key_reused`. Keys are per caller; failed requests are not stored. Use a new UUID "
        "per logical operation."
    ),
    examples=[OpenApiExample("A UUID", value="3f1c2b8e-5a0d-4c9e-9a57-1d6b2e7f8c40")],
)

SIGNATURE_PARAMETERS = [
    OpenApiParameter(
        "X-Agentry-Timestamp",
        {"type": "string", "pattern": "^[0-9]+$"},
        OpenApiParameter.HEADER,
        description=(
            "Unix time in seconds. Required, with X-Agentry-Signature, when the key has `signing_required`; "
            "must be within 5 minutes of the server's clock."
        ),
    ),
    OpenApiParameter(
        "X-Agentry-Signature",
        {"type": "string", "pattern": "^v1=[0-9a-f]{64}$"},
        OpenApiParameter.HEADER,
        description=(
            "`v1=` + hex HMAC-SHA256, keyed with the key's signing secret, of "
            "`<timestamp>\\n<METHOD>\\n<path?query>\\n<hex SHA-256 of the body>`. Each signature is "
            "accepted once. Required when the key has `signing_required`."
        ),
    ),
    OpenApiParameter(
        "X-Agentry-Nonce",
        {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        OpenApiParameter.HEADER,
        description=(
            "Optional. When sent it is signed as its own line right after the timestamp, so two otherwise "
            "identical signed requests in the same second have different signatures."
        ),
    ),
]

REQUEST_ID_PARAMETER = OpenApiParameter(
    "X-Request-ID",
    {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,128}$"},
    OpenApiParameter.HEADER,
    description="Your own id for this request, echoed back; anything else is replaced by a new id.",
)
