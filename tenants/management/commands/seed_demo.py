"""Demo data for `make run`: a staff superuser and two demo tenants. Safe to re-run.

acme is active on Professional monthly with its first invoice paid; globex is trialing on Starter.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import user_create
from agents.org_services import department_create, team_create
from agents.services import agent_create, agent_update
from audit.services import Actor
from billing.backends import billing_backend
from billing.models import InvoiceStatus
from billing.selectors import invoice_list_of_tenant
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
