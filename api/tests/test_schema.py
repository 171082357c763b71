"""The published OpenAPI document: valid, in step with the routes, the error codes and the docs."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from api.base import TenantApi
from config.errors import ERROR_CODES, ApplicationError
from config.problems import _DRF_CODES
from conftest import client_for

ERRORS_DOC = Path(settings.BASE_DIR) / "docs" / "errors.md"
PROBLEM_REF = "#/components/schemas/Problem"
EVERY_METHOD = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict:
    # Through JSON, as clients see it (lazy strings and tuples become plain values).
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in EVERY_METHOD:
                yield path, method, operation


def _api_v1_routes() -> dict[tuple[str, str], type | None]:
    """(OpenAPI path, method) → view class for every route under /api/v1/ of the tenant URLconf."""
    routes: dict[tuple[str, str], type | None] = {}

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            if not route.startswith("api/v1/"):
                continue
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
            view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            if view_class is None:  # a plain function view: nothing could document it
                routes[(path, "?")] = None
                continue
            for method in EVERY_METHOD:
                if hasattr(view_class, method):
                    routes[(path, method)] = view_class

    walk(get_resolver(settings.ROOT_URLCONF).url_patterns, "")
    return routes


def test_schema_served_as_json_validates_as_openapi_3(tenant_a):
    response = client_for(tenant_a.host).get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    served = json.loads(response.content)
    validate_schema(served)
    assert served["openapi"].startswith("3.")
    assert {"/api/v1/tenant", "/api/v1/me", "/api/v1/api-keys", "/api/v1/audit-log"} <= set(served["paths"])


def test_schema_served_on_the_public_host_is_the_same_document(public_client, tenant_a):
    public = json.loads(public_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    tenant = json.loads(client_for(tenant_a.host).get("/api/schema/?format=json").content)
    validate_schema(public)
    assert public == tenant


def test_schema_spectacular_command_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))  # raises on any warning
    assert target.read_text().startswith("openapi: 3.")


def test_schema_operations_are_exactly_the_api_routes(schema):
    documented = {(path, method) for path, method, _ in _operations(schema)}
    routed = set(_api_v1_routes())
    assert documented - routed == set(), "documented but not routed"
    assert routed - documented == set(), "routed but not documented"


def test_schema_every_operation_requires_an_api_key_or_session(schema):
    for path, method, operation in _operations(schema):
        assert operation["security"] == [{"ApiKeyBearer": []}, {"ApiKeyHeader": []}, {"PortalSession": []}], (
            path,
            method,
        )
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyBearer"] == {**schemes["ApiKeyBearer"], "type": "http", "scheme": "bearer"}
    assert schemes["ApiKeyBearer"]["bearerFormat"].startswith("agk_live_")
    assert (schemes["ApiKeyHeader"]["in"], schemes["ApiKeyHeader"]["name"]) == ("header", "X-API-Key")
    assert (schemes["PortalSession"]["in"], schemes["PortalSession"]["name"]) == (
        "cookie",
        settings.SESSION_COOKIE_NAME,
    )


def test_schema_every_operation_documents_problem_responses_and_headers(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert {"401", "429", "500"} <= set(responses), (path, method)
        for status, response in responses.items():
            assert "X-Request-ID" in response["headers"], (path, method, status)
            if status.startswith("2"):
                assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(response["headers"])
                continue
            content = response["content"]
            assert list(content) == ["application/problem+json"], (path, method, status)
            assert content["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}
            assert content["application/problem+json"]["examples"], (path, method, status)
        assert "Retry-After" in responses["429"]["headers"]
        assert "WWW-Authenticate" in responses["401"]["headers"]


def test_schema_error_responses_follow_what_the_view_can_raise(schema):
    views = _api_v1_routes()
    for path, method, operation in _operations(schema):
        view_class = views[(path, method)]
        assert view_class is not None and issubclass(view_class, TenantApi)
        responses = operation["responses"]
        scopes = view_class.scopes_for(method)
        assert ("insufficient_scope" in responses["403"]["description"]) == bool(scopes)
        assert operation["x-required-scopes"] == list(scopes)
        if "requestBody" in operation:
            assert {"400", "415"} <= set(responses), (path, method)
        if "{" in path:
            assert "404" in responses, (path, method)


def test_schema_idempotency_key_documented_exactly_on_idempotent_posts(schema):
    views = _api_v1_routes()
    for path, method, operation in _operations(schema):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        idempotent = method == "post" and views[(path, method)].idempotent_post
        assert ("Idempotency-Key" in headers) == idempotent, (path, method)
        assert ("422" in operation["responses"]) == idempotent, (path, method)
        if idempotent:
            assert "Idempotent-Replayed" in next(
                response["headers"] for status, response in operation["responses"].items() if status.startswith("2")
            )
        assert {"X-Agentry-Timestamp", "X-Agentry-Signature", "X-Request-ID"} <= headers, (path, method)


def test_schema_lists_are_cursor_paginated(schema):
    for path in ("/api/v1/api-keys", "/api/v1/audit-log"):
        operation = schema["paths"][path]["get"]
        query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"cursor", "limit"} <= query
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"results", "next", "previous"}


def test_schema_problem_code_enum_is_the_error_code_list(schema):
    schemas = schema["components"]["schemas"]
    assert schemas["Problem"]["properties"]["code"]["allOf"] == [{"$ref": "#/components/schemas/ErrorCodeEnum"}]
    assert schemas["ErrorCodeEnum"]["enum"] == list(ERROR_CODES)
    documented_codes = {
        match
        for _, _, operation in _operations(schema)
        for status, response in operation["responses"].items()
        if not status.startswith("2")
        for match in re.findall(r"`([a-z_]+)`", response["description"].split("`code`:")[1])
    }
    assert documented_codes <= set(ERROR_CODES)
    for code, example in schema["components"]["examples"].items():
        assert example["value"]["code"] == code and example["value"]["status"] == ERROR_CODES[code].status


def _application_error_classes(base: type[ApplicationError] = ApplicationError) -> list[type[ApplicationError]]:
    return [base] + [cls for sub in base.__subclasses__() for cls in _application_error_classes(sub)]


def test_error_codes_list_every_code_the_code_can_produce():
    import tenants.context  # noqa: F401  (defines NoTenantActive)

    for error_class in _application_error_classes():
        assert ERROR_CODES[error_class.code].status == error_class.status, error_class
    assert set(_DRF_CODES.values()) <= set(ERROR_CODES)
    # Codes given at the raise site: AuthenticationError(..., code="…") and problem_body(code="…").
    call_with_code = re.compile(r"\b(?:AuthenticationError|problem_body)\((?:[^()]|\([^()]*\))*?\bcode=\"([a-z_]+)\"")
    sources = [
        source
        for app in Path(settings.BASE_DIR).iterdir()
        if app.is_dir() and not app.name.startswith(".") and app.name not in ("static", "staticfiles")
        for source in app.rglob("*.py")
        if "tests" not in source.parts and "migrations" not in source.parts
    ]
    literal_codes = {code for source in sources for code in call_with_code.findall(source.read_text())}
    assert literal_codes, "the scan found no codes at all"
    assert literal_codes <= set(ERROR_CODES), literal_codes - set(ERROR_CODES)


def test_errors_doc_documents_every_code_and_no_other():
    text = ERRORS_DOC.read_text()
    for code, info in ERROR_CODES.items():
        assert f"\n### {code}\n" in text, f"docs/errors.md has no section for {code}"
        assert f"| [`{code}`](#{code}) | {info.status}" in text, f"docs/errors.md's table lacks {code}"
    documented = set(re.findall(r"^### ([a-z_]+)$", text, flags=re.MULTILINE))
    assert documented == set(ERROR_CODES)


class _AssetUrls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_api_docs_page_renders_offline_with_local_assets(tenant_a):
    response = client_for(tenant_a.host).get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    # The page embeds a random CSRF token, which now and then contains "cdn" by chance.
    without_token = re.sub(r'"X-CSRFTOKEN"\] = "[^"]*"', "", html, flags=re.IGNORECASE)
    assert not re.search(r"cdn|unpkg|jsdelivr|googleapis", without_token, flags=re.IGNORECASE)
    parser = _AssetUrls()
    parser.feed(html)
    assets = [url for url in parser.urls if url.startswith(settings.STATIC_URL)]
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets)
    assert all(url.startswith("/") for url in parser.urls), parser.urls  # nothing from another host
    for url in assets:
        assert finders.find(url.removeprefix(settings.STATIC_URL)), f"{url} is not a local static file"
