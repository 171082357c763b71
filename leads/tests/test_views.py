"""Portal: the Leads page (filters, status, CSV export), the Privacy page, and who may use them."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from conftest import make_member, signed_in_client
from conversations.models import Conversation
from leads.models import Lead
from leads.tests.factories import conversation_for_tests, visitor_says
from tenants.models import Tenant


@pytest.fixture
def alpha_leads(tenant_a) -> dict[str, Lead]:
    with schema_context(tenant_a.schema):
        leads = {
            "sarah": visitor_says(conversation_for_tests(session_id="s"), "I'm Sarah, sarah@example.com, pricing?"),
            "evil": visitor_says(conversation_for_tests(session_id="e"), "My name is =HYPERLINK, +44 20 7946 0958"),
        }
    return leads  # type: ignore[return-value]


def test_leads_page_lists_and_filters(tenant_a, alpha_leads):
    client = signed_in_client(tenant_a)

    everything = client.get("/leads/").content.decode()
    filtered = client.get("/leads/?q=sarah").content.decode()

    assert "sarah@example.com" in everything and "+44 20 7946 0958" in everything
    assert "sarah@example.com" in filtered and "+44 20 7946 0958" not in filtered


def test_leads_page_changes_a_status(tenant_a, alpha_leads):
    client = signed_in_client(tenant_a)
    lead = alpha_leads["sarah"]

    response = client.post(f"/leads/{lead.pk}/status/", {"status": "qualified", "next": "/leads/?q=sarah"})

    assert response.status_code == 302 and response["Location"] == "/leads/?q=sarah"
    with schema_context(tenant_a.schema):
        assert Lead.objects.get(pk=lead.pk).status == "qualified"


def test_leads_page_never_redirects_off_site(tenant_a, alpha_leads):
    response = signed_in_client(tenant_a).post(
        f"/leads/{alpha_leads['sarah'].pk}/status/", {"status": "closed", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/leads/"


def test_leads_export_streams_csv_with_formulas_neutralised(tenant_a, alpha_leads):
    response = signed_in_client(tenant_a).get("/leads/export.csv")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["email"] for row in rows} == {"sarah@example.com", ""}
    phones = {row["phone"] for row in rows}
    assert "'+44 20 7946 0958" in phones  # a cell starting with + would run as a formula


def test_leads_export_follows_the_filters(tenant_a, alpha_leads):
    response = signed_in_client(tenant_a).get("/leads/export.csv?q=sarah")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["id"] for row in rows] == [alpha_leads["sarah"].pk]


def test_leads_pages_need_edit_content(tenant_a, alpha_leads):
    make_member(tenant_a, email="viewer@alpha.test", role=Role.VIEWER)
    viewer = signed_in_client(tenant_a, "viewer@alpha.test")

    assert viewer.get("/leads/").status_code == 403
    assert viewer.get("/leads/export.csv").status_code == 403
    assert viewer.post(f"/leads/{alpha_leads['sarah'].pk}/status/", {"status": "closed"}).status_code == 403


def test_leads_page_shows_nothing_of_another_workspace(tenant_b, alpha_leads):
    page = signed_in_client(tenant_b).get("/leads/").content.decode()
    export = b"".join(signed_in_client(tenant_b).get("/leads/export.csv").streaming_content).decode()

    assert "sarah@example.com" not in page and "sarah@example.com" not in export
    assert (
        signed_in_client(tenant_b).post(f"/leads/{alpha_leads['sarah'].pk}/status/", {"status": "closed"}).status_code
        == 404
    )


def test_privacy_page_sets_retention(tenant_a):
    client = signed_in_client(tenant_a)

    refused = client.post("/settings/privacy/", {"form": "retention", "conversation_retention_days": "0"})
    saved = client.post("/settings/privacy/", {"form": "retention", "conversation_retention_days": "30"})

    assert refused.status_code == 400
    assert saved.status_code == 302
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).conversation_retention_days == 30
    cleared = client.post("/settings/privacy/", {"form": "retention", "conversation_retention_days": ""})
    assert cleared.status_code == 302
    assert Tenant.objects.get(pk=tenant_a.tenant.pk).conversation_retention_days is None


def test_privacy_page_erases_a_visitor(tenant_a, alpha_leads):
    client = signed_in_client(tenant_a)

    response = client.post("/settings/privacy/", {"form": "erasure", "email": "SARAH@example.com"}, follow=True)

    assert "Erased 1 conversation(s)" in response.content.decode()
    with schema_context(tenant_a.schema):
        assert not Lead.objects.filter(email="sarah@example.com").exists()
        assert Conversation.objects.count() == 1


def test_privacy_page_needs_manage_settings(tenant_a):
    make_member(tenant_a, email="member@alpha.test", role=Role.MEMBER)
    member = signed_in_client(tenant_a, "member@alpha.test")

    assert member.get("/settings/privacy/").status_code == 403
    assert member.post("/settings/privacy/", {"form": "erasure", "session_id": "s"}).status_code == 403
