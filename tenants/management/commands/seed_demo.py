"""Demo data for `make run`: a staff superuser and two demo tenants. Safe to re-run.

acme is active on Professional monthly with its first invoice paid; globex is trialing on Starter.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import user_create
from agents.models import Agent
from agents.org_services import department_create, team_create
from agents.services import agent_create, agent_update
from audit.services import Actor
from billing.backends import billing_backend
from billing.models import InvoiceStatus
from billing.selectors import invoice_list_of_tenant
from knowledge.services import faq_create, knowledge_base_create
from tenants.models import TenantStatus
from tenants.selectors import tenant_get
from tenants.services import tenant_provision

DEMO_PASSWORD = "agentry-demo-2026"
STAFF_EMAIL = "admin@agentry.local"
DEMO_TENANTS: list[dict[str, Any]] = [
    {
        "slug": "acme",
        "name": "Acme Corp",
        "plan_code": "professional",
        "status": TenantStatus.ACTIVE,
        "owner_email": "owner@acme.test",
        "industry": "Retail",
        "team": [("admin@acme.test", Role.ADMIN), ("member@acme.test", Role.MEMBER), ("viewer@acme.test", Role.VIEWER)],
    },
    {
        "slug": "globex",
        "name": "Globex Inc",
        "plan_code": "starter",
        "status": TenantStatus.TRIALING,
        "owner_email": "owner@globex.test",
        "industry": "Logistics",
        "team": [],
    },
]


# A small organisation per demo tenant: (department, team, [(name, type, job title, status, manager)]).
DEMO_AGENTS: dict[str, list[tuple[str, str, list[tuple[str, str, str, str, str]]]]] = {
    "acme": [
        (
            "Customer Service",
            "Tier 1",
            [
                ("Support Lead", "manager", "Head of support", "active", ""),
                ("Ava", "support", "Tier 1 support", "active", "Support Lead"),
                ("Omar", "support", "Arabic-speaking support", "paused", "Support Lead"),
            ],
        ),
        ("Sales", "Inbound", [("Sam", "sales", "Inbound sales", "draft", "")]),
    ],
    "globex": [("Operations", "Dispatch", [("Dispatch Assistant", "assistant", "Shipment updates", "active", "")])],
}


# The demo help centre the support agents answer from (the `local` provider: `make run` shows a
# working chatbot offline). Ava speaks English, Omar English and Arabic.
DEMO_FAQS: dict[str, list[tuple[str, str, str]]] = {
    "acme": [
        (
            "How do I return a product?",
            (
                "You can return any product within 30 days of delivery: open Orders, choose the product and "
                "click Return. The refund reaches your card within 5 working days."
            ),
            "en",
        ),
        (
            "What are your opening hours?",
            "Our support team is available Monday to Friday, 9:00 to 18:00 (CET), by chat and by phone.",
            "en",
        ),
        (
            "Do you ship internationally?",
            "Yes. We ship to 40 countries; international delivery takes 5 to 10 working days.",
            "en",
        ),
        ("How much does shipping cost?", "Shipping is free on orders over 50 EUR; below that it costs 4.90 EUR.", "en"),
        (
            "How do I track my order?",
            "Open Orders in your account and click Track: you will see the carrier and the tracking number.",
            "en",
        ),
        ("كيف يمكنني إرجاع منتج؟", "يمكنك إرجاع أي منتج خلال ثلاثين يوما من التسليم من صفحة الطلبات.", "ar"),
        (
            "ما هي ساعات العمل؟",
            "فريق الدعم متاح من الاثنين إلى الجمعة، من الساعة التاسعة صباحا حتى السادسة مساء.",
            "ar",
        ),
    ],
}
DEMO_FAQ_AGENTS = {"acme": ("Ava", "Omar")}


def _seed_help_centre(slug: str, agent_ids: dict[str, str]) -> None:
    """A help centre of FAQs, given to the demo's support agents (runs in the tenant's schema)."""
    faqs = DEMO_FAQS.get(slug)
    if not faqs:
        return
    actor = Actor.system("seed_demo")
    knowledge_base = knowledge_base_create(name="Help centre", language="en", actor=actor)
    for question, answer, language in faqs:
        faq_create(knowledge_base=knowledge_base, question=question, answer=answer, language=language, actor=actor)
    for name in DEMO_FAQ_AGENTS.get(slug, ()):
        agent = Agent.objects.get(pk=agent_ids[name])
        agent_update(agent=agent, actor=actor, changes={"knowledge_base_ids": [knowledge_base.pk]})


def _seed_agents(slug: str) -> None:
    """Runs in the tenant's schema, through the services (audited, limits checked)."""
    actor = Actor.system("seed_demo")
    ids: dict[str, str] = {}
    for department_name, team_name, agents in DEMO_AGENTS.get(slug, []):
        department = department_create(name=department_name, actor=actor)
        team = team_create(name=team_name, department_id=department.pk, actor=actor)
        for name, agent_type, job_title, status, manager in agents:
            agent = agent_create(
                name=name,
                type=agent_type,
                job_title=job_title,
                status="active" if status == "paused" else status,
                team_id=team.pk,
                manager_id=ids.get(manager),
                languages=["en", "ar"] if "Arabic" in job_title else ["en"],
                tools=["knowledge_search", "lead_capture"],
                actor=actor,
            )
            if status == "paused":
                agent_update(agent=agent, actor=actor, changes={"status": "paused"})
            ids[name] = agent.pk
    _seed_help_centre(slug, ids)


class Command(BaseCommand):
    help = "Create the staff superuser and the demo tenants (acme, globex) if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            User.objects.create_superuser(email=STAFF_EMAIL, password=DEMO_PASSWORD, full_name="Platform Staff")
            self.stdout.write(f"staff superuser {STAFF_EMAIL}")
        for spec in DEMO_TENANTS:
            self._seed_tenant(dict(spec))

    def _seed_tenant(self, spec: dict[str, Any]) -> None:
        team = spec.pop("team")
        if tenant_get(slug=spec["slug"]) is not None:
            self.stdout.write(f"tenant {spec['slug']} already exists")
            return
        provisioned = tenant_provision(
            **spec, owner_password=DEMO_PASSWORD, owner_name="Demo Owner", actor=Actor.system("seed_demo")
        )
        with schema_context(provisioned.tenant.schema_name):
            for email, role in team:
                user_create(email=email, password=DEMO_PASSWORD, role=role, email_verified=True)
            _seed_agents(spec["slug"])
        for invoice in invoice_list_of_tenant(tenant=provisioned.tenant).filter(status=InvoiceStatus.OPEN):
            billing_backend().record_payment(invoice=invoice, succeeded=True, actor=Actor.system("seed_demo"))
        self.stdout.write(f"tenant {spec['slug']} created ({spec['plan_code']}, {spec['status']})")
