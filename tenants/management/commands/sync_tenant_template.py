"""Create (if missing) and migrate the template schema new tenants are cloned from."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django_tenants.utils import schema_exists

from tenants.cloning import clone_function_install
from tenants.context import set_schema_to_public


class Command(BaseCommand):
    help = "Create and migrate the tenant template schema (TENANT_BASE_SCHEMA). Safe to re-run."

    def handle(self, *args: Any, **options: Any) -> None:
        schema = settings.TENANT_BASE_SCHEMA
        if not schema_exists(schema):
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{schema}"')
            self.stdout.write(f"created schema {schema}")
        call_command(
            "migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=options["verbosity"]
        )
        set_schema_to_public()
        clone_function_install()  # once per deploy, not once per tenant (see tenants/cloning.py)
