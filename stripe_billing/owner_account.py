"""Which Stripe account owns what dj-stripe mirrors, found without storing the secret key.

Every `sync_from_stripe_data` asks `djstripe.Account.get_or_retrieve_for_api_key(api_key)` for the
owning account; dj-stripe's version saves the secret key in plain text (`djstripe.APIKey.secret`)
to remember the answer. Our rule is that secrets are never stored in plain text, so that one
classmethod is replaced (at app start, see apps.py) by `owner_account_for_key`, which remembers
the answer under the key's SHA-256 instead. Everything else in dj-stripe is left as it is.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from djstripe.models import Account

from stripe_billing.models import StripeAccountBinding


def key_fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def owner_account_for_key(api_key: str) -> Account:
    """The dj-stripe `Account` the key belongs to; `GET /v1/account` the first time a key is seen."""
    from stripe_billing.client import stripe_client

    fingerprint = key_fingerprint(api_key)
    binding = StripeAccountBinding.objects.filter(key_fingerprint=fingerprint).first()
    if binding is not None:
        account = Account.objects.filter(id=binding.account_id).first()
        if account is not None:
            return account
    data = stripe_client(api_key=api_key).v1.accounts.retrieve_current()
    # The stub first, then the binding, then the sync: syncing an Account asks for its own owner.
    account, created = Account.objects.get_or_create(id=data["id"])
    try:
        with transaction.atomic():
            StripeAccountBinding.objects.update_or_create(
                key_fingerprint=fingerprint,
                defaults={
                    "account_id": account.id,
                    "livemode": "_live_" in api_key,
                },
            )
    except IntegrityError:  # another process bound the key at the same moment: same answer
        pass
    if created:
        Account.sync_from_stripe_data(data, api_key=api_key)
        account.refresh_from_db()
    return account


def _get_or_retrieve_for_api_key(cls: Any, api_key: str) -> Account:
    return owner_account_for_key(api_key or settings.STRIPE_SECRET_KEY)


def djstripe_owner_account_patch() -> None:
    """Install `owner_account_for_key` in place of dj-stripe's key-storing lookup (idempotent)."""
    Account.get_or_retrieve_for_api_key = classmethod(_get_or_retrieve_for_api_key)  # type: ignore[method-assign,assignment]
