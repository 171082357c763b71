"""The HTTP side of a delivery, with no database access: the signed body and headers, and the
concurrent POSTs of one batch (an event to all its endpoints, or a sweep's batch).

Every POST goes through `webhooks.network.webhook_post`, so each one connects only to the
addresses validated for its URL just before (DNS rebinding), never follows a redirect and has
its own connect and read timeouts. The POSTs of a batch run on one process-wide thread pool of
WEBHOOK_SEND_CONCURRENCY threads, sharing network.py's keep-alive connection pools: a slow
receiver holds one thread for at most its timeouts and delays no other endpoint's request
beyond that.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from config.crypto import decrypt_text
from config.errors import WebhookTargetRefused
from tenants.models import Tenant
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.network import WebhookResponse, webhook_post, webhook_url_check
from webhooks.signing import webhook_signed_headers

USER_AGENT = "Agentry-Webhooks/1.0 (+https://docs.agentry.dev/webhooks)"

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


@dataclass(frozen=True)
class Outgoing:
    """One POST to make: everything it needs, read from the database before sending."""

    url: str
    msg_id: str
    body: bytes
    secrets: tuple[str, ...]


def webhook_payload(*, tenant: Tenant, event: WebhookEvent) -> bytes:
    """The body every endpoint gets for `event`: the same bytes on every attempt."""
    payload = {
        "id": event.id,
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant_id": tenant.slug,
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def endpoint_signing_secrets(*, endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The current secret, then the previous one while its rotation overlap lasts."""
    found = [decrypt_text(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        found.append(decrypt_text(endpoint.previous_secret_encrypted))
    return tuple(found)


def webhook_send(outgoing: Outgoing) -> WebhookResponse:
    """Check the URL again (DNS may have changed since registration), sign, POST; never raises
    for a refused target or a network error: both are failed attempts."""
    try:
        target = webhook_url_check(outgoing.url)
    except WebhookTargetRefused as exc:
        return WebhookResponse(status_code=None, latency_ms=0, excerpt="", error=exc.detail[:500])
    headers = webhook_signed_headers(
        secrets=outgoing.secrets, msg_id=outgoing.msg_id, timestamp=int(time.time()), body=outgoing.body
    )
    headers |= {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    return webhook_post(target=target, headers=headers, body=outgoing.body)


def _send_executor() -> ThreadPoolExecutor:
    # Created on first use, so a prefork worker child gets its own (threads do not survive fork).
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=max(1, int(settings.WEBHOOK_SEND_CONCURRENCY)), thread_name_prefix="webhook-send"
            )
        return _executor


def webhook_send_many(outgoing: list[Outgoing]) -> list[WebhookResponse]:
    """POST every item concurrently; the responses in the same order."""
    if len(outgoing) <= 1:
        return [webhook_send(item) for item in outgoing]
    return list(_send_executor().map(webhook_send, outgoing))
