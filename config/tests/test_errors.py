import json

from conftest import client_for, signed_in_client


def test_errors_unknown_api_route_is_problem_json_on_tenant_host(tenant_a):
    response = signed_in_client(tenant_a).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["code"] == "not_found" and body["status"] == 404


def test_errors_unknown_api_route_is_problem_json_on_public_host(public_client):
    response = public_client.post("/api/v1/nothing-here", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "not_found"


def test_errors_schema_view_method_not_allowed_is_json_not_yaml(tenant_a):
    response = client_for(tenant_a.host).post("/api/schema/")
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] in (403, 405)


def test_errors_openapi_schema_is_served(public_client):
    response = public_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_metrics_refused_to_addresses_outside_the_allowlist(public_client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.9.9.9"]
    assert public_client.get("/metrics").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    response = public_client.get("/metrics")
    assert response.status_code == 200 and b"django_http_requests" in response.content


def test_metrics_not_served_on_tenant_hosts(tenant_a):
    assert client_for(tenant_a.host).get("/metrics").status_code in (302, 404)
