"""Request signing for keys with `signing_required`: HMAC-SHA256 over timestamp, method, path and
body; 5 minutes of clock tolerance; every signature accepted once.

`agentry_signed_headers` is written the way an integrator would, from the documented recipe
only (no import from the app), so it doubles as the copy-paste example for the docs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.tests.factories import IssuedApiKeyFactory, api_client


def agentry_signed_headers(
    *, api_key: str, signing_secret: str, method: str, path: str, body: bytes = b""
) -> dict[str, str]:
    """Headers for one signed Agentry API request (`path` includes the query string, if any)."""
    timestamp = str(int(time.time()))
    body_sha256 = hashlib.sha256(body).hexdigest()
    message = f"{timestamp}\n{method.upper()}\n{path}\n{body_sha256}"
    signature = hmac.new(signing_secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": f"Bearer {api_key}",
        "X-Agentry-Timestamp": timestamp,
        "X-Agentry-Signature": f"v1={signature}",
    }


@pytest.fixture
def signing_key(tenant_a):  # type: ignore[no-untyped-def]
    return IssuedApiKeyFactory(tenant=tenant_a.tenant, signing_required=True)


def _signed(key, method: str, path: str, body: bytes = b"") -> dict[str, str]:  # type: ignore[no-untyped-def]
    return agentry_signed_headers(
        api_key=key.secret, signing_secret=key.signing_secret, method=method, path=path, body=body
    )


def _code(response) -> str | None:  # type: ignore[no-untyped-def]
    return json.loads(response.content).get("code")


def test_signing_valid_get_is_accepted(tenant_a, signing_key):
    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=_signed(signing_key, "GET", "/api/v1/me"))

    assert response.status_code == 200
    assert json.loads(response.content)["id"] == signing_key.key.pk


def test_signing_valid_post_with_body_and_query_is_accepted(tenant_a, signing_key):
    body = json.dumps({"name": "Signed", "scopes": ["agents:read"]}).encode()
    path = "/api/v1/api-keys?source=ci"

    response = Client(HTTP_HOST=tenant_a.host).post(
        path, data=body, content_type="application/json", headers=_signed(signing_key, "POST", path, body)
    )

    assert response.status_code == 201, response.content
    assert ApiKey.objects.filter(tenant=tenant_a.tenant, name="Signed").exists()


def test_signing_works_on_the_public_host_too(signing_key):
    response = Client(HTTP_HOST="localhost").get(
        "/api/v1/tenant", headers=_signed(signing_key, "GET", "/api/v1/tenant")
    )

    assert response.status_code == 200
    assert json.loads(response.content)["slug"] == "alpha"


@pytest.mark.parametrize("missing", ["X-Agentry-Timestamp", "X-Agentry-Signature"])
def test_signing_missing_header_is_refused(tenant_a, signing_key, missing):
    headers = _signed(signing_key, "GET", "/api/v1/me")
    del headers[missing]

    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert _code(response) == "signature_required"


def test_signing_unsigned_request_is_refused(tenant_a, signing_key):
    response = api_client(tenant_a.host, signing_key.secret).get("/api/v1/me")

    assert response.status_code == 401
    assert _code(response) == "signature_required"


def test_signing_wrong_secret_is_refused(tenant_a, signing_key):
    headers = agentry_signed_headers(
        api_key=signing_key.secret, signing_secret="whsk_not-the-secret", method="GET", path="/api/v1/me"
    )

    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert _code(response) == "signature_invalid"


@pytest.mark.parametrize("signature", ["", "v1=", "v1=deadbeef", "v2=abc", "garbage"])
def test_signing_malformed_signature_is_refused(tenant_a, signing_key, signature):
    headers = {**_signed(signing_key, "GET", "/api/v1/me"), "X-Agentry-Signature": signature}

    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert _code(response) in ("signature_invalid", "signature_required")


def test_signing_non_numeric_timestamp_is_refused(tenant_a, signing_key):
    headers = {**_signed(signing_key, "GET", "/api/v1/me"), "X-Agentry-Timestamp": "yesterday"}

    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert _code(response) == "signature_invalid"


@pytest.mark.parametrize(("offset", "accepted"), [(-301, False), (301, False), (-290, True), (290, True)])
def test_signing_timestamp_must_be_within_five_minutes(tenant_a, signing_key, offset, accepted):
    with time_machine.travel(timezone.now() + timedelta(seconds=offset), tick=False):
        headers = _signed(signing_key, "GET", "/api/v1/me")

    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=headers)

    if accepted:
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert _code(response) == "signature_expired"


def test_signing_replay_of_the_same_signature_is_refused(tenant_a, signing_key):
    client = Client(HTTP_HOST=tenant_a.host)
    headers = _signed(signing_key, "GET", "/api/v1/me")

    assert client.get("/api/v1/me", headers=headers).status_code == 200
    replay = client.get("/api/v1/me", headers=headers)

    assert replay.status_code == 401
    assert _code(replay) == "signature_replayed"


def test_signing_body_tampering_is_detected(tenant_a, signing_key):
    signed_body = json.dumps({"name": "Read only", "scopes": ["agents:read"]}).encode()
    tampered = json.dumps({"name": "Read only", "scopes": ["agents:read", "keys:manage"]}).encode()

    response = Client(HTTP_HOST=tenant_a.host).post(
        "/api/v1/api-keys",
        data=tampered,
        content_type="application/json",
        headers=_signed(signing_key, "POST", "/api/v1/api-keys", signed_body),
    )

    assert response.status_code == 401
    assert _code(response) == "signature_invalid"
    assert not ApiKey.objects.filter(tenant=tenant_a.tenant, name="Read only").exists()


@pytest.mark.parametrize(
    ("signed_method", "signed_path", "sent_path"),
    [
        ("GET", "/api/v1/api-keys?status=active", "/api/v1/api-keys?status=revoked"),
        ("GET", "/api/v1/tenant", "/api/v1/me"),
        ("POST", "/api/v1/me", "/api/v1/me"),
    ],
    ids=["query", "path", "method"],
)
def test_signing_request_line_tampering_is_detected(tenant_a, signing_key, signed_method, signed_path, sent_path):
    headers = _signed(signing_key, signed_method, signed_path)

    response = Client(HTTP_HOST=tenant_a.host).get(sent_path, headers=headers)

    assert response.status_code == 401
    assert _code(response) == "signature_invalid"


def test_signing_not_required_for_keys_without_it(tenant_a):
    plain = IssuedApiKeyFactory(tenant=tenant_a.tenant)

    assert plain.signing_secret is None
    assert api_client(tenant_a.host, plain.secret).get("/api/v1/me").status_code == 200


def _nonced(key, nonce: str, method: str = "GET", path: str = "/api/v1/me") -> dict[str, str]:  # type: ignore[no-untyped-def]
    timestamp = str(int(time.time()))
    message = f"{timestamp}\n{nonce}\n{method}\n{path}\n{hashlib.sha256(b'').hexdigest()}"
    signature = hmac.new(key.signing_secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": f"Bearer {key.secret}",
        "X-Agentry-Timestamp": timestamp,
        "X-Agentry-Nonce": nonce,
        "X-Agentry-Signature": f"v1={signature}",
    }


def test_signing_nonce_lets_identical_requests_in_one_second_through(tenant_a, signing_key):
    client = Client(HTTP_HOST=tenant_a.host)
    first = client.get("/api/v1/me", headers=_nonced(signing_key, "n-1"))
    second = client.get("/api/v1/me", headers=_nonced(signing_key, "n-2"))
    replay = client.get("/api/v1/me", headers=_nonced(signing_key, "n-2"))
    assert (first.status_code, second.status_code, replay.status_code) == (200, 200, 401)
    assert _code(replay) == "signature_replayed"


def test_signing_nonce_is_part_of_the_signature(tenant_a, signing_key):
    headers = _nonced(signing_key, "original")
    headers["X-Agentry-Nonce"] = "swapped"
    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and _code(response) == "signature_invalid"


def test_signing_malformed_nonce_is_refused(tenant_a, signing_key):
    headers = _nonced(signing_key, "ok")
    headers["X-Agentry-Nonce"] = "has spaces"
    response = Client(HTTP_HOST=tenant_a.host).get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and _code(response) == "signature_invalid"
