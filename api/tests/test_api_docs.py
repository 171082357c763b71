"""docs/api.md says what the code does: its signing snippets produce signatures the server
accepts, and its scope table is apikeys.scopes."""

from __future__ import annotations

import re
import subprocess
import sys
import types
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from api.signing import signature_verify
from apikeys.scopes import ALL_SCOPES, SCOPE_DESCRIPTIONS
from apikeys.services import IssuedApiKey, api_key_create
from audit.services import Actor
from conftest import client_for

API_DOC = Path(settings.BASE_DIR) / "docs" / "api.md"

# The shell snippet's `curl` is replaced by a function that prints its arguments
# (\x1f between them, \x1e after each call) instead of sending anything.
CURL_RECORDER = "curl() { for arg in \"$@\"; do printf '%s\\x1f' \"$arg\"; done; printf '\\x1e'; }\n"


def _documented_snippet(name: str) -> str:
    """The fenced block right after `<!-- signing-example:<name> … -->` in docs/api.md."""
    match = re.search(rf"<!-- signing-example:{name}\b[^>]*-->\n```\w+\n(.*?)\n```", API_DOC.read_text(), re.DOTALL)
    assert match, f"docs/api.md has no signing-example:{name} block"
    return match.group(1)


class SentRequest:
    def __init__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.url, self.headers, self.body = method, url, headers, body

    @property
    def path(self) -> str:
        return self.url.removeprefix(DOC_BASE_URL)


DOC_BASE_URL = "https://acme.agentry.example.com"


def _run_shell_snippet(env: dict[str, str]) -> list[SentRequest]:
    result = subprocess.run(
        ["bash", "-c", CURL_RECORDER + _documented_snippet("shell")],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    sent = []
    for call in filter(None, result.stdout.split("\x1e")):
        args = call.split("\x1f")[:-1]
        method = args[args.index("-X") + 1]
        url = next(arg for arg in args if arg.startswith(DOC_BASE_URL))
        headers = dict(args[i + 1].split(": ", 1) for i, arg in enumerate(args) if arg == "-H")
        body = args[args.index("--data-raw") + 1].encode() if "--data-raw" in args else b""
        sent.append(SentRequest(method, url, headers, body))
    return sent


def _run_python_snippet(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> list[SentRequest]:
    sent: list[SentRequest] = []

    class FakeResponse:
        def raise_for_status(self) -> None:
            pass

        def json(self) -> dict:
            return {"id": "key_fake", "results": []}

    def send(method: str):
        def request(url: str, data: bytes = b"", headers: dict | None = None, timeout: float = 0) -> FakeResponse:
            sent.append(SentRequest(method, url, dict(headers or {}), data))
            return FakeResponse()

        return request

    fake_requests = types.ModuleType("requests")
    fake_requests.get = send("GET")  # type: ignore[attr-defined]
    fake_requests.post = send("POST")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "requests", fake_requests)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    exec(compile(_documented_snippet("python"), str(API_DOC), "exec"), {"__name__": "docs_api_md"})
    return sent


@pytest.fixture
def signing_key(tenant_a) -> IssuedApiKey:
    return api_key_create(
        tenant=tenant_a.tenant,
        name="Signed integration",
        scopes=sorted(ALL_SCOPES),
        signing_required=True,
        actor=Actor.system("tests"),
        granter_scopes=ALL_SCOPES,
    )


def _env(issued: IssuedApiKey) -> dict[str, str]:
    assert issued.signing_secret
    return {
        "AGENTRY_URL": DOC_BASE_URL,
        "AGENTRY_API_KEY": issued.secret,
        "AGENTRY_SIGNING_SECRET": issued.signing_secret,
    }


def _assert_signature_accepted(request: SentRequest, secret: str) -> None:
    signature_verify(
        key_id=f"docs-{uuid.uuid4().hex}",
        secret=secret,
        timestamp=request.headers["X-Agentry-Timestamp"],
        signature=request.headers["X-Agentry-Signature"],
        method=request.method,
        path=request.path,
        body=request.body,
    )  # raises AuthenticationError when the documented snippet signs differently


def _send_through_api(host: str, request: SentRequest) -> Any:
    headers = {name: value for name, value in request.headers.items() if name != "Content-Type"}
    client = client_for(host)
    if request.method == "GET":
        return client.get(request.path, headers=headers)
    return client.post(request.path, data=request.body, content_type=request.headers["Content-Type"], headers=headers)


def test_docs_shell_signing_example_is_accepted(signing_key, tenant_a):
    sent = _run_shell_snippet(_env(signing_key))
    assert [(r.method, r.path) for r in sent] == [
        ("GET", "/api/v1/audit-log?action=api_key.&limit=5"),
        ("POST", "/api/v1/api-keys"),
    ]
    for request in sent:
        _assert_signature_accepted(request, signing_key.signing_secret or "")
    listed = _send_through_api(tenant_a.host, sent[0])
    assert listed.status_code == 200, listed.content
    actions = [event["action"] for event in listed.json()["results"]]
    assert "api_key.created" in actions and all(action.startswith("api_key.") for action in actions)
    created = _send_through_api(tenant_a.host, sent[1])
    assert created.status_code == 201, created.content
    assert created.json()["scopes"] == ["agents:read"]


def test_docs_python_signing_example_is_accepted(signing_key, tenant_a, monkeypatch):
    sent = _run_python_snippet(monkeypatch, _env(signing_key))
    assert [(r.method, r.path) for r in sent] == [
        ("POST", "/api/v1/api-keys"),
        ("GET", "/api/v1/audit-log?action=api_key.&limit=5"),
    ]
    for request in sent:
        _assert_signature_accepted(request, signing_key.signing_secret or "")
    created = _send_through_api(tenant_a.host, sent[0])
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "Nightly export"


def test_docs_signed_request_sent_twice_is_refused_as_a_replay(signing_key, tenant_a):
    listing = _run_shell_snippet(_env(signing_key))[0]
    assert _send_through_api(tenant_a.host, listing).status_code == 200
    replay = _send_through_api(tenant_a.host, listing)
    assert replay.status_code == 401
    assert replay.json()["code"] == "signature_replayed"


def test_docs_scope_table_is_the_scope_list():
    text = API_DOC.read_text()
    for scope, description in SCOPE_DESCRIPTIONS.items():
        assert f"| `{scope}` | {description} |" in text, scope
