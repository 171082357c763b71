"""`make run`'s demo: Acme's support agent Ava answers from the demo help centre (local provider)."""

from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context

from agents.models import Agent
from conversations.services import chat_reply
from tenants.selectors import tenant_get


def test_seed_demo_support_agent_answers_from_the_demo_faq(db):
    call_command("seed_demo", stdout=StringIO())

    with schema_context(tenant_get(slug="acme").schema_name):
        ava = Agent.objects.get(name="Ava")
        english = chat_reply(agent=ava, session_id="demo", message="How can I return a product?", channel="api")
        arabic = chat_reply(agent=ava, session_id="demo-ar", message="ما هي ساعات العمل؟", channel="api")

    assert english.reply.content.startswith("You can return any product within 30 days")
    assert english.sources[0].title == "How do I return a product?"
    assert arabic.reply.content.startswith("فريق الدعم متاح")
