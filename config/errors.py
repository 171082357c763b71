"""The one application error hierarchy and the catalogue of error codes.

Services raise `ApplicationError` subclasses; the API exception handler and the portal turn
them into responses (config/problems.py renders the JSON shape). Every error has a stable `code`.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class ErrorCode(NamedTuple):
    status: int  # the usual HTTP status for the code
    description: str


# Every `code` an API error body can carry: the OpenAPI `Problem.code` enum (api/schema.py) and
# the table in docs/errors.md are both checked against this list (api/tests/test_schema.py).
ERROR_CODES: dict[str, ErrorCode] = {
    "validation_error": ErrorCode(400, "The submitted data (body, query parameter or header) is not valid."),
    "malformed_request": ErrorCode(400, "The request body is not valid JSON."),
    "webhook_target_refused": ErrorCode(400, "The webhook URL is not https or does not resolve to public addresses."),
    "application_error": ErrorCode(400, "An application error without a more specific code."),
    "not_authenticated": ErrorCode(401, "No credentials were sent."),
    "malformed_credentials": ErrorCode(401, "The Authorization header or the key is not in the expected format."),
    "authentication_failed": ErrorCode(401, "Credentials were sent but are not valid."),
    "invalid_api_key": ErrorCode(401, "Unknown API key, or a key of another workspace."),
    "api_key_revoked": ErrorCode(401, "The API key has been revoked."),
    "api_key_expired": ErrorCode(401, "The API key, or its previous secret after a rotation, has expired."),
    "signature_required": ErrorCode(401, "The key requires signed requests and the signature headers are missing."),
    "signature_invalid": ErrorCode(401, "The request signature or its timestamp is not valid."),
    "signature_expired": ErrorCode(401, "The signature timestamp is more than 5 minutes away from the server's clock."),
    "signature_replayed": ErrorCode(401, "This signed request was already received once."),
    "permission_denied": ErrorCode(403, "Authenticated, but not allowed to do this (including a failed CSRF check)."),
    "insufficient_scope": ErrorCode(403, "The credentials lack a scope this endpoint requires."),
    "ip_not_allowed": ErrorCode(403, "The API key may not be used from the client's IP address."),
    "origin_not_allowed": ErrorCode(403, "A publishable key was used from a web origin it does not allow."),
    "tenant_suspended": ErrorCode(403, "The workspace is suspended."),
    "tenant_cancelled": ErrorCode(403, "The workspace's subscription is cancelled."),
    "feature_not_in_plan": ErrorCode(403, "The workspace's plan and add-ons do not include this feature."),
    "plan_limit_reached": ErrorCode(403, "The workspace has reached a limit of its plan."),
    "not_found": ErrorCode(404, "No such resource in this workspace, no such endpoint, or an invalid cursor."),
    "method_not_allowed": ErrorCode(405, "The HTTP method is not supported by this endpoint."),
    "not_acceptable": ErrorCode(406, "The Accept header asks for a format the endpoint cannot render."),
    "conflict": ErrorCode(409, "The request conflicts with the current state of the resource."),
    "invalid_transition": ErrorCode(409, "A status change that the state machine does not allow."),
    "agent_not_active": ErrorCode(409, "The agent is a draft, paused or archived: only active agents chat."),
    "downgrade_blocked": ErrorCode(409, "Current usage exceeds the target plan's limits: reduce it first."),
    "file_too_large": ErrorCode(413, "An uploaded file is larger than the limit (`max_bytes`)."),
    "payment_declined": ErrorCode(402, "The payment provider declined the payment (e.g. the card was refused)."),
    "unsupported_media_type": ErrorCode(415, "The request body is not application/json."),
    "idempotency_key_reused": ErrorCode(422, "The Idempotency-Key was already used with a different request."),
    "rate_limited": ErrorCode(429, "Too many requests: wait for Retry-After seconds."),
    "quota_exceeded": ErrorCode(429, "A monthly quota of the plan is used up; it resets at reset_at."),
    "agent_budget_exceeded": ErrorCode(429, "The agent's daily token or money budget is used up until resets_at."),
    "webhook_signature_invalid": ErrorCode(400, "A payment-provider webhook with an invalid signature or timestamp."),
    "internal_error": ErrorCode(500, "An unexpected error on the server; quote the request_id to support."),
    "no_tenant_active": ErrorCode(500, "A server bug (workspace data touched outside a workspace): as internal_error."),
    "payment_provider_error": ErrorCode(502, "The payment provider (Stripe) failed or was unreachable; try again."),
    "model_provider_error": ErrorCode(502, "The language model provider failed, timed out or refused; see retryable."),
}


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    title = "The request could not be completed."

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.title
        self.extra = extra or {}
        super().__init__(self.detail)


class ValidationFailed(ApplicationError):
    code = "validation_error"
    status = 400
    title = "The submitted data is not valid."

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, extra={"errors": errors or {}})
        self.errors = errors or {}


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    title = "Not found."


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    status = 403
    title = "You do not have permission to do this."


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    title = "The request conflicts with the current state."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "That status change is not allowed."


class AuthenticationError(ApplicationError):
    """The credentials are missing, malformed, unknown, revoked, expired or for another tenant."""

    code = "authentication_failed"
    status = 401
    title = "Authentication failed."

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail)
        if code:
            self.code = code


class IpNotAllowed(ApplicationError):
    code = "ip_not_allowed"
    status = 403
    title = "This API key may not be used from your IP address."


class OriginNotAllowed(ApplicationError):
    """A publishable key (`pk_live_…`) used without an `Origin` header or from an origin that is not
    in its `allowed_origins`. `extra`: `origin` (as received, or null)."""

    code = "origin_not_allowed"
    status = 403
    title = "This key may not be used from this website."


class ScopeMissing(ApplicationError):
    code = "insufficient_scope"
    status = 403
    title = "The credentials lack a scope this endpoint requires."


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = 429
    title = "Too many requests."


class QuotaExceeded(ApplicationError):
    """`extra`: `meter`, `limit` (e.g. `api_calls_per_month`), `allowed`, `current_usage`,
    `reset_at` (ISO 8601) and `retry_after` (seconds until then)."""

    code = "quota_exceeded"
    status = 429
    title = "A monthly quota is used up."


class AgentBudgetExceeded(ApplicationError):
    """`extra`: `agent_id`, `limit` (`daily_token_budget` or `daily_cost_budget`), `budget` and `spent`
    (decimal strings), `currency`, `resets_at` (the next UTC midnight) and `retry_after` (seconds)."""

    code = "agent_budget_exceeded"
    status = 429
    title = "The agent's daily budget is used up."


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422
    title = "This Idempotency-Key was already used with a different request."


class TenantSuspended(ApplicationError):
    code = "tenant_suspended"
    status = 403
    title = "This workspace is suspended."


class TenantCancelled(TenantSuspended):
    code = "tenant_cancelled"
    title = "This workspace's subscription is cancelled."


class FeatureNotInPlan(ApplicationError):
    """`extra`: `feature`, and `upgrade_plan`/`upgrade_add_on` hints (`{"code", "name"}` or None)."""

    code = "feature_not_in_plan"
    status = 403
    title = "Your plan does not include this feature."


class PlanLimitReached(ApplicationError):
    """`extra`: `limit`, `allowed`, `current_usage`, `requested`, and the same upgrade hints."""

    code = "plan_limit_reached"
    status = 403
    title = "Your plan's limit is reached."


class DowngradeBlocked(Conflict):
    """`extra`: `plan` (the target's code) and `reduce`: `[{"limit", "allowed", "current_usage"}]`."""

    code = "downgrade_blocked"
    title = "Current usage exceeds the target plan's limits."


class FileTooLarge(ApplicationError):
    """`extra`: `max_bytes` (the limit) and `size` (the file's size in bytes, when known)."""

    code = "file_too_large"
    status = 413
    title = "The file is too large."


class PaymentDeclined(ApplicationError):
    code = "payment_declined"
    status = 402
    title = "The payment was declined."


class PaymentProviderError(ApplicationError):
    """`extra`: `stripe_request_id` (for support) when Stripe answered at all."""

    code = "payment_provider_error"
    status = 502
    title = "The payment provider could not complete the request."


class WebhookSignatureInvalid(ApplicationError):
    code = "webhook_signature_invalid"
    status = 400
    title = "The webhook signature is not valid."


class WebhookTargetRefused(ValidationFailed):
    """A webhook endpoint URL refused by the SSRF policy (docs/webhooks.md); `errors` names `url`."""

    code = "webhook_target_refused"
    title = "The webhook URL is not allowed."

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors={"url": [detail]})


class AgentNotActive(Conflict):
    """Chat with an agent that is not `active`. `extra`: `agent_id`, `agent_status`."""

    code = "agent_not_active"
    title = "This agent is not active."


class ModelProviderError(ApplicationError):
    """The model provider (an OpenAI-compatible endpoint) failed. `extra`: `provider`,
    `retryable` (a timeout, 429 or 5xx: the same request may succeed later) and
    `provider_status` (the endpoint's HTTP status, when it answered)."""

    code = "model_provider_error"
    status = 502
    title = "The language model provider could not answer."
