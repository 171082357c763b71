import json

from conftest import client_for, signed_in_client


def test_errors_unknown_api_route_is_problem_json_on_tenant_host(tenant_a):
    response = signed_in_client(tenant_a).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["code"] == "not_found" and body["status"] == 404


def test_errors_unknown_api_route_is_problem_json_on_public_host(public_client):
    response = public_client.post("/api/v2/nothing-here", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "not_found"


def test_errors_public_host_v1_without_key_asks_for_one(public_client):
    response = public_client.get("/api/v1/tenant")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response.content)["code"] == "not_authenticated"


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


def test_errors_unknown_api_route_post_without_csrf_is_json(public_client):
    from django.test import Client

    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    response = client.post("/api/v2/agents", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_errors_unhandled_exception_in_api_view_is_problem_json_without_details():
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class ExplodingApi(APIView):
        authentication_classes = ()
        permission_classes = ()

        def get(self, request):
            raise RuntimeError("secret internals must not leak")

    response = ExplodingApi.as_view()(APIRequestFactory().get("/api/v1/explode"))
    response.render()
    body = json.loads(response.content)
    assert response.status_code == 500
    assert body["code"] == "internal_error"
    assert "secret internals" not in response.content.decode()


def test_routing_public_extra_hosts_serve_the_public_site(settings, db):
    settings.PUBLIC_EXTRA_HOSTS = ["lb.internal.example"]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "lb.internal.example"]  # as core.py derives it
    response = client_for("lb.internal.example").get("/pricing/")
    assert response.status_code == 200
