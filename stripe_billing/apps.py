from django.apps import AppConfig


class StripeBillingConfig(AppConfig):
    name = "stripe_billing"
    verbose_name = "Stripe billing"

    def ready(self) -> None:
        from stripe_billing.owner_account import djstripe_owner_account_patch

        djstripe_owner_account_patch()
