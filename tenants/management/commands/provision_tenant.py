"""Ops command with a stable contract; see docs/operations.md ("Provisioning a tenant").

    manage.py provision_tenant --slug acme --name "Acme Corp" --owner-email a@acme.test \
        [--owner-password ...] [--plan starter|professional|enterprise] [--status trialing|active] [--json]

With --json, stdout carries exactly one JSON object. Bad arguments exit non-zero with a
one-line message on stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apikeys.scopes import ALL_SCOPES
from apikeys.services import api_key_create
from audit.services import Actor
from billing.selectors import plan_list_public
from config.errors import ApplicationError
from portal.links import tenant_url
from tenants.models import TenantStatus
from tenants.services import generate_password, tenant_provision


class Command(BaseCommand):
    help = "Create a tenant (schema, domain, owner) in well under a second by cloning the template schema."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", default=None, help="Omit to generate one (printed once).")
        parser.add_argument("--plan", default="starter")
        parser.add_argument(
            "--status", default=TenantStatus.TRIALING, choices=[TenantStatus.TRIALING, TenantStatus.ACTIVE]
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object on stdout.")
        # The contract promises a one-line message for bad arguments: argparse's error path must
        # not print the usage block first (`--help` still shows it).
        parser.print_usage = lambda file=None: None  # type: ignore[method-assign]

    def handle(self, *args: Any, **options: Any) -> None:
        plans = {plan.code for plan in plan_list_public()}
        if options["plan"] not in plans:
            raise CommandError(f"unknown plan '{options['plan']}' (choose from {', '.join(sorted(plans))})")
        password = options["owner_password"] or generate_password()
        actor = Actor.system("provision_tenant command")
        try:
            # Schema creation may print; --json promises a single object on stdout.
            with contextlib.redirect_stdout(io.StringIO()), transaction.atomic():
                provisioned = tenant_provision(
                    slug=options["slug"],
                    name=options["name"],
                    owner_email=options["owner_email"],
                    owner_password=password,
                    plan_code=options["plan"],
                    status=options["status"],
                    actor=actor,
                )
                issued = api_key_create(
                    tenant=provisioned.tenant,
                    name="Provisioning key",
                    scopes=sorted(ALL_SCOPES),
                    actor=actor,
                    granter_scopes=ALL_SCOPES,
                )
        except ApplicationError as error:
            raise CommandError(error.detail) from None
        tenant = provisioned.tenant
        result = {
            "slug": tenant.slug,
            "name": tenant.name,
            "schema_name": tenant.schema_name,
            "domain": provisioned.domain.domain,
            "portal_url": tenant_url(domain=provisioned.domain.domain),
            "owner_email": provisioned.owner.email,
            "plan": tenant.plan.code,
            "status": tenant.status,
            "trial_ends_at": tenant.trial_ends_at.isoformat() if tenant.trial_ends_at else None,
            "api_key": issued.secret,
            "api_key_id": issued.key.id,
        }
        if not options["owner_password"]:
            result["owner_password"] = password
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
