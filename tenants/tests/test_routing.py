from conftest import client_for, signed_in_client


def test_routing_unknown_host_gets_plain_404(tenant_a):
    response = client_for("nosuch.localhost").get("/")
    assert response.status_code == 404
    assert b"No workspace here" in response.content


def test_routing_public_host_serves_landing(public_client):
    response = public_client.get("/")
    assert response.status_code == 200
    assert b"Start your 14-day free trial" in response.content


def test_routing_tenant_host_serves_its_portal(tenant_a, tenant_b):
    response = signed_in_client(tenant_a).get("/")
    assert response.status_code == 200
    assert tenant_a.tenant.name.encode() in response.content
    assert tenant_b.tenant.name.encode() not in response.content
