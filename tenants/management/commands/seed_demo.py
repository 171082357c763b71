"""Demo data for `make run`: a staff superuser and two demo tenants. Safe to re-run.

acme is active on Professional monthly with its first invoice paid; globex is trialing on Starter.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import user_create
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
        for invoice in invoice_list_of_tenant(tenant=provisioned.tenant).filter(status=InvoiceStatus.OPEN):
            billing_backend().record_payment(invoice=invoice, succeeded=True, actor=Actor.system("seed_demo"))
        self.stdout.write(f"tenant {spec['slug']} created ({spec['plan_code']}, {spec['status']})")
