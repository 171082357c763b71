from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.signing import webhook_secret_generate, webhook_signed_headers


def test_signed_headers_are_accepted_by_the_standardwebhooks_verifier():
    secret = webhook_secret_generate()
    body = b'{"id":"msg_1","type":"test.ping","data":{"caf\xc3\xa9":1}}'
    headers = webhook_signed_headers(secrets=[secret], msg_id="msg_1", timestamp=int(time.time()), body=body)

    assert Webhook(secret).verify(body, headers) == {"id": "msg_1", "type": "test.ping", "data": {"café": 1}}
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_secret_generate()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_2"})
    stale = webhook_signed_headers(secrets=[secret], msg_id="msg_1", timestamp=int(time.time()) - 600, body=body)
    with pytest.raises(WebhookVerificationError):  # receivers refuse old timestamps (replays)
        Webhook(secret).verify(body, stale)


def test_secrets_are_whsec_prefixed_random_and_distinct():
    secrets = {webhook_secret_generate() for _ in range(20)}
    assert len(secrets) == 20
    assert all(secret.startswith("whsec_") and len(secret) == 6 + 44 for secret in secrets)
