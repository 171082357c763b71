"""`manage.py stripe_sync_catalog`: create or find Stripe Products/Prices for the catalog and link them."""

from __future__ import annotations

from typing import Any

import stripe
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from stripe_billing.catalog import stripe_catalog_sync


class Command(BaseCommand):
    help = "Create or look up a Stripe Product per plan/add-on and a Price per catalog price; link them."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = stripe_catalog_sync()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        except stripe.StripeError as error:
            raise CommandError(f"Stripe refused the request: {error.user_message or type(error).__name__}") from error
        for product_id in report.products_created:
            self.stdout.write(f"created product {product_id}")
        for lookup_key in report.prices_created:
            self.stdout.write(f"created price {lookup_key}")
        for lookup_key in report.prices_linked:
            self.stdout.write(f"linked existing price {lookup_key}")
        for lookup_key in report.prices_tagged:
            self.stdout.write(f"tagged price {lookup_key} with its add-on")
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalog in sync: {len(report.prices_created)} prices created, "
                f"{len(report.prices_linked)} linked, {report.unchanged} unchanged."
            )
        )
