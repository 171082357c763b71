"""GET /widget.js: public, cacheable, versioned, in the workspace's name."""

from __future__ import annotations

from django.test import Client

from widget.views import WIDGET_VERSION


def test_widget_script_is_public_cacheable_javascript(tenant_a):
    response = Client(HTTP_HOST=tenant_a.host).get("/widget.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    assert response["X-Widget-Version"] == WIDGET_VERSION
    body = response.content.decode()
    assert "Alpha Ltd" in body and "/api/v1/chat" in body and "localStorage" in body
    assert "Set-Cookie" not in response


def test_widget_script_revalidates_with_its_etag(tenant_a):
    client = Client(HTTP_HOST=tenant_a.host)
    etag = client.get("/widget.js")["ETag"]

    again = client.get("/widget.js", HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert WIDGET_VERSION in etag


def test_widget_script_is_in_each_workspaces_name(tenant_a, tenant_b):
    alpha = Client(HTTP_HOST=tenant_a.host).get("/widget.js")
    beta = Client(HTTP_HOST=tenant_b.host).get("/widget.js")

    assert "Beta Ltd" in beta.content.decode() and "Alpha Ltd" not in beta.content.decode()
    assert alpha["ETag"] != beta["ETag"]
