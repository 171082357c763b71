"""Staff admin: conversations per tenant (counts and cost, per agent), read from each tenant's
schema, read-only, and never showing message contents or visitor details."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from agents.tests.factories import AgentFactory
from conftest import PASSWORD, client_for
from conversations.models import Conversation, Message

SECRET_TEXT = "my card number is 4111 1111 1111 1111"
VISITOR_EMAIL = "visitor-private@example.test"


@pytest.fixture
def staff_client(two_tenants, db) -> Client:  # type: ignore[no-untyped-def]
    with schema_context("public"):
        staff = User.objects.create_superuser(email="conversations-staff@agentry.test", password=PASSWORD)
    client = client_for("localhost")
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _conversation(agent, *, session: str, messages: int, tokens: int, cost: str, status: str = "open") -> None:  # type: ignore[no-untyped-def]
    conversation = Conversation.objects.create(
        agent=agent,
        channel="api",
        session_id=session,
        status=status,
        visitor_email=VISITOR_EMAIL,
        last_message_at=timezone.now(),
        message_count=messages,
        total_tokens=tokens,
        cost=Decimal(cost),
    )
    Message.objects.create(conversation=conversation, role="user", content=SECRET_TEXT)


@pytest.fixture
def conversations(tenant_a, tenant_b) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        sales = AgentFactory.create(name="Sales Assistant")
        support = AgentFactory.create(name="Support Lead")
        _conversation(sales, session="s1", messages=4, tokens=1200, cost="0.50")
        _conversation(sales, session="s2", messages=2, tokens=300, cost="0.25", status="completed")
        _conversation(support, session="s3", messages=6, tokens=5000, cost="1.10")
    with schema_context(tenant_b.schema):
        other = AgentFactory.create(name="Beta Only Agent")
        _conversation(other, session="b1", messages=1, tokens=10, cost="0.01")
    return {"sales": sales.pk, "support": support.pk, "other": other.pk}


def test_admin_conversations_per_tenant_lists_each_tenants_totals(staff_client, tenant_a, tenant_b, conversations):
    response = staff_client.get("/admin/metering/tenantconversations/")

    assert response.status_code == 200
    rows = {tenant.slug: tenant.conversation_totals for tenant in response.context["cl"].result_list}
    assert (rows["alpha"].conversations, rows["alpha"].messages, rows["alpha"].cost) == (3, 12, Decimal("1.85"))
    assert (rows["beta"].conversations, rows["beta"].messages, rows["beta"].cost) == (1, 1, Decimal("0.01"))
    assert "1.8500" in response.content.decode()


def test_admin_tenant_conversations_page_splits_per_agent_without_contents(
    staff_client, tenant_a, tenant_b, conversations
):
    response = staff_client.get(f"/admin/metering/tenantconversations/{tenant_a.tenant.pk}/change/")

    assert response.status_code == 200
    per_agent = [
        (row.agent_id, row.agent_name, row.conversations, row.open_conversations, row.messages, row.tokens, row.cost)
        for row in response.context["per_agent"]
    ]
    assert per_agent == [
        (conversations["support"], "Support Lead", 1, 1, 6, 5000, Decimal("1.10")),
        (conversations["sales"], "Sales Assistant", 2, 1, 6, 1500, Decimal("0.75")),
    ]
    html = response.content.decode()
    assert "Sales Assistant" in html and "Support Lead" in html
    assert "Beta Only Agent" not in html  # the other tenant's agent
    assert SECRET_TEXT not in html and VISITOR_EMAIL not in html  # privacy: numbers only
    assert 'id="conversations-cost-total">1.8500<' in html


def test_admin_tenant_conversations_empty_tenant_and_unknown_tenant(staff_client, tenant_b):
    response = staff_client.get(f"/admin/metering/tenantconversations/{tenant_b.tenant.pk}/change/")
    assert response.status_code == 200
    assert "This tenant has no conversations yet." in response.content.decode()

    assert staff_client.get("/admin/metering/tenantconversations/999999/change/").status_code == 404


def test_admin_tenant_conversations_is_read_only_and_staff_only(staff_client, tenant_a, conversations):
    assert staff_client.get("/admin/metering/tenantconversations/add/").status_code == 403
    url = f"/admin/metering/tenantconversations/{tenant_a.tenant.pk}/delete/"
    assert staff_client.post(url, {"post": "yes"}).status_code == 403

    anonymous = client_for("localhost").get(f"/admin/metering/tenantconversations/{tenant_a.tenant.pk}/change/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
