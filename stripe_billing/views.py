"""`POST /stripe/webhook/` on the public host: Stripe's deliveries (not part of the /api/v1 API)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from config.client_ip import client_ip
from config.errors import WebhookSignatureInvalid
from config.problems import PROBLEM_CONTENT_TYPE, problem_body
from stripe_billing.webhooks import webhook_event_receive

logger = logging.getLogger(__name__)


@csrf_exempt  # authenticated by the Stripe-Signature header instead
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """200 once the event is recorded (also for a repeated delivery); 400 problem+json when the
    signature, its timestamp or the payload is not valid (nothing is recorded then)."""
    try:
        received = webhook_event_receive(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except WebhookSignatureInvalid as error:
        logger.warning("stripe webhook refused from %s: %s", client_ip(request), error.detail)
        body = problem_body(status=error.status, code=error.code, title=error.title, detail=error.detail)
        return JsonResponse(body, status=error.status, content_type=PROBLEM_CONTENT_TYPE)
    return JsonResponse({"received": received.event_id, "duplicate": received.is_duplicate})
