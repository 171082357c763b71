"""Portal: creating a widget key shows the snippet to paste; only owners and admins may."""

from __future__ import annotations

from accounts.models import Role
from apikeys.models import ApiKey
from conftest import make_member, signed_in_client
from widget.tests.factories import SITE, widget_agent


def _form(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = client.get("/settings/api-keys/widget/").content.decode()
    token = page.split('name="submission" value="', 1)[1].split('"', 1)[0]
    return {"submission": token}


def test_widget_key_page_creates_a_key_and_shows_the_snippet(tenant_a):
    agent = widget_agent(tenant_a.tenant)
    client = signed_in_client(tenant_a)
    form = {
        **_form(client),
        "name": "Main website",
        "agent": agent.pk,
        "allowed_origins": f"{SITE}\nhttps://shop.example",
    }

    response = client.post("/settings/api-keys/widget/", form)

    assert response.status_code == 201
    key = ApiKey.objects.get(tenant=tenant_a.tenant, kind="publishable")
    assert (key.agent_id, key.allowed_origins) == (agent.pk, [SITE, "https://shop.example"])
    page = response.content.decode()
    assert f'src="http://{tenant_a.host}/widget.js" data-agent="{agent.pk}" data-key="pk_live_' in page.replace(
        "&quot;", '"'
    ).replace("&lt;", "<")
    assert "no-store" in response["Cache-Control"]


def test_widget_key_page_reports_bad_origins_on_the_field(tenant_a):
    agent = widget_agent(tenant_a.tenant)
    client = signed_in_client(tenant_a)
    form = {**_form(client), "name": "Main website", "agent": agent.pk, "allowed_origins": "http://www.example.com"}

    response = client.post("/settings/api-keys/widget/", form)

    assert response.status_code == 400
    assert "is not an origin like" in response.content.decode()
    assert not ApiKey.objects.filter(tenant=tenant_a.tenant, kind="publishable").exists()


def test_widget_key_page_needs_manage_settings(tenant_a):
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)

    assert signed_in_client(tenant_a, "member@alpha.test").get("/settings/api-keys/widget/").status_code == 403


def test_api_keys_page_marks_widget_keys_and_rotation_keeps_them_publishable(tenant_a):
    from apikeys.models import KeyKind
    from widget.tests.factories import publishable_key

    agent = widget_agent(tenant_a.tenant)
    issued = publishable_key(tenant_a.tenant, agent_id=agent.pk)
    client = signed_in_client(tenant_a)

    listing = client.get("/settings/api-keys/").content.decode()
    page = client.get(f"/settings/api-keys/{issued.key.pk}/rotate/").content.decode()
    token = page.split('name="submission" value="', 1)[1].split('"', 1)[0]
    rotated = client.post(
        f"/settings/api-keys/{issued.key.pk}/rotate/", {"submission": token, "overlap_seconds": "0"}
    ).content.decode()

    assert f"Website widget: {SITE}" in listing
    assert "data-key=&quot;pk_live_" in rotated or 'data-key="pk_live_' in rotated
    assert ApiKey.objects.get(pk=issued.key.pk).kind == KeyKind.PUBLISHABLE
