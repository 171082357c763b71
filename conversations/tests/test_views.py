"""Portal pages: the "Try it" preview, the conversations browser and transcript, the model
provider settings; permissions and two tenants."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from conftest import make_member, signed_in_client
from conversations.models import Conversation, ProviderSettings
from conversations.services import chat_reply
from conversations.tests.factories import SHOP_FAQS, chat_agent


@pytest.fixture
def agent(tenant_a):  # type: ignore[no-untyped-def]
    with schema_context(tenant_a.schema):
        return chat_agent(name="Ava", status="draft")


def test_try_it_answers_as_an_htmx_fragment_on_the_portal_channel(tenant_a, agent):
    client = signed_in_client(tenant_a)

    page = client.get(f"/agents/{agent.pk}/")
    response = client.post(
        f"/agents/{agent.pk}/try-it/", {"message": "How do I return a product?"}, HTTP_HX_REQUEST="true"
    )

    assert 'id="try-it"' in page.content.decode()
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert SHOP_FAQS[0][1] in body and SHOP_FAQS[0][0] in body
    with schema_context(tenant_a.schema):
        conversation = Conversation.objects.get(agent=agent)
    assert conversation.channel == "portal" and conversation.user_id


def test_try_it_without_javascript_renders_a_page_and_errors_inline(tenant_a, agent):
    client = signed_in_client(tenant_a)

    page = client.post(f"/agents/{agent.pk}/try-it/", {"message": "Hello"})
    empty = client.post(f"/agents/{agent.pk}/try-it/", {"message": ""}, HTTP_HX_REQUEST="true")

    assert page.status_code == 200 and "<html" in page.content.decode()
    assert 'role="alert"' in empty.content.decode()


def test_try_it_is_refused_to_viewers(tenant_a, agent):
    viewer = make_member(tenant_a, email="viewer-try@alpha.test", role=Role.VIEWER)
    client = signed_in_client(tenant_a, viewer.email)

    assert 'id="try-it"' not in client.get(f"/agents/{agent.pk}/").content.decode()
    assert client.post(f"/agents/{agent.pk}/try-it/", {"message": "Hello"}).status_code == 403


def test_conversations_browser_lists_filters_and_shows_transcripts(tenant_a, agent):
    with schema_context(tenant_a.schema):
        other = chat_agent(name="Other")
        mine = chat_reply(agent=agent, session_id="v-1", message="How do I return a product?", channel="portal")
        chat_reply(agent=other, session_id="v-2", message="Hello", channel="api")
    client = signed_in_client(tenant_a)

    everything = client.get("/conversations/").content.decode()
    filtered = client.get(f"/conversations/?agent={agent.pk}&channel=portal").content.decode()
    transcript = client.get(f"/conversations/{mine.conversation.pk}/").content.decode()

    assert "v-1" in everything and "v-2" in everything
    assert "v-1" in filtered and "v-2" not in filtered
    assert SHOP_FAQS[0][1] in transcript and f"Source: {SHOP_FAQS[0][0]}" in transcript
    assert "local/agentry-local" in transcript and "Not rated" in transcript


def test_conversations_of_another_tenant_are_invisible(tenant_a, tenant_b, agent):
    with schema_context(tenant_a.schema):
        mine = chat_reply(agent=agent, session_id="secret-session", message="Hello", channel="portal")
    beta = signed_in_client(tenant_b)

    assert "secret-session" not in beta.get("/conversations/").content.decode()
    assert beta.get(f"/conversations/{mine.conversation.pk}/").status_code == 404


def test_model_providers_page_stores_the_key_encrypted_and_shows_last_four(tenant_a):
    client = signed_in_client(tenant_a)
    form = {
        "base_url": "http://llm.internal:8000/v1",
        "default_model": "llama3",
        "timeout_seconds": 20,
        "max_retries": 1,
    }

    saved = client.post("/settings/model-providers/", {**form, "api_key": "sk-secret-value-9876"})
    page = client.get("/settings/model-providers/").content.decode()
    client.post("/settings/model-providers/", form)  # an empty key keeps the stored one

    assert saved.status_code == 302
    assert "…9876" in page and "sk-secret-value" not in page
    with schema_context(tenant_a.schema):
        row = ProviderSettings.objects.get()
    assert (row.base_url, row.default_model, row.timeout_seconds, row.max_retries) == (
        "http://llm.internal:8000/v1",
        "llama3",
        20,
        1,
    )
    assert row.api_key() == "sk-secret-value-9876" and "sk-secret" not in row.api_key_encrypted


def test_model_providers_page_is_for_owners_and_admins(tenant_a):
    member = make_member(tenant_a, email="member-providers@alpha.test", role=Role.MEMBER)

    assert signed_in_client(tenant_a, member.email).get("/settings/model-providers/").status_code == 403
