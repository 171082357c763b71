"""Current-API-shaped Stripe objects for tests, built from the templates in fixtures/ (Stripe's own
published examples, see fixtures/extract.py) with the ids, amounts, statuses and times a test needs."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAY = 86_400


@cache
def _template(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def template(resource: str, /, **fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(_template(resource))
    data.update(fields)
    return data


def account() -> dict[str, Any]:
    return template("account", id="acct_agentrytest", email="billing@agentry.test")


def customer(customer_id: str, *, email: str = "", metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return template("customer", id=customer_id, email=email or None, metadata=metadata or {}, created=1_790_000_000)


def product(product_id: str, *, name: str) -> dict[str, Any]:
    return template("product", id=product_id, name=name, created=1_790_000_000, updated=1_790_000_000)


def price(
    price_id: str,
    *,
    product_id: str,
    amount: int,
    currency: str = "usd",
    interval: str = "month",
    count: int = 1,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    data = template("price", id=price_id, product=product_id, unit_amount=amount, unit_amount_decimal=str(amount))
    data.update(currency=currency, lookup_key=None, created=1_790_000_000, metadata=metadata or {})
    data["recurring"] = {**data["recurring"], "interval": interval, "interval_count": count}
    return data


def subscription_item(
    item_id: str,
    *,
    subscription_id: str,
    price_data: dict[str, Any],
    period_start: int,
    period_end: int,
    quantity: int = 1,
    created: int | None = None,
) -> dict[str, Any]:
    """An item as Stripe returns it on its own (POST /v1/subscription_items) or in a subscription."""
    return template(
        "subscription_item",
        id=item_id,
        subscription=subscription_id,
        price=copy.deepcopy(price_data),
        quantity=quantity,
        current_period_start=period_start,
        current_period_end=period_end,
        created=created or period_start,
    )


def deleted_subscription_item(item_id: str) -> dict[str, Any]:
    return template("deleted_subscription_item", id=item_id)


def subscription(
    subscription_id: str,
    *,
    customer_id: str,
    price_data: dict[str, Any],
    status: str = "active",
    period_start: int,
    period_end: int,
    created: int | None = None,
    cancel_at_period_end: bool = False,
    trial_end: int | None = None,
    schedule: str | None = None,
    latest_invoice: str | None = None,
    add_ons: tuple[tuple[str, dict[str, Any], int], ...] = (),
) -> dict[str, Any]:
    """`add_ons`: (item id, Price, quantity) of each item after the plan's."""
    data = template("subscription", id=subscription_id, customer=customer_id, status=status)
    item = data["items"]["data"][0]
    item.update(
        id=f"si_{subscription_id[4:]}",
        price=copy.deepcopy(price_data),
        subscription=subscription_id,
        current_period_start=period_start,
        current_period_end=period_end,
        created=created or period_start,
    )
    for item_id, add_on_price, quantity in add_ons:
        data["items"]["data"].append(
            subscription_item(
                item_id,
                subscription_id=subscription_id,
                price_data=add_on_price,
                period_start=period_start,
                period_end=period_end,
                quantity=quantity,
                created=created,
            )
        )
    data["items"]["url"] = f"/v1/subscription_items?subscription={subscription_id}"
    data.update(
        created=created or period_start,
        start_date=created or period_start,
        billing_cycle_anchor=period_start,
        currency=price_data["currency"],
        cancel_at_period_end=cancel_at_period_end,
        canceled_at=period_end if status == "canceled" else None,
        ended_at=period_end if status == "canceled" else None,
        trial_start=period_start if trial_end else None,
        trial_end=trial_end,
        schedule=schedule,
        latest_invoice=latest_invoice,
    )
    return data


def invoice(
    invoice_id: str,
    *,
    customer_id: str,
    subscription_id: str | None,
    status: str,
    total: int,
    created: int,
    period_start: int,
    period_end: int,
    attempt_count: int = 0,
    currency: str = "usd",
    description: str = "Agentry Professional",
    proration: bool = False,
) -> dict[str, Any]:
    data = template("invoice", id=invoice_id, customer=customer_id, status=status, currency=currency)
    line = data["lines"]["data"][0]
    line.update(
        id=f"il_{invoice_id[3:]}",
        invoice=invoice_id,
        amount=total,
        subtotal=total,
        currency=currency,
        description=description,
        period={"start": period_start, "end": period_end},
    )
    line["parent"]["subscription_item_details"].update(subscription=subscription_id, proration=proration)
    data["lines"]["url"] = f"/v1/invoices/{invoice_id}/lines"
    data["parent"]["subscription_details"]["subscription"] = subscription_id
    paid = status == "paid"
    data.update(
        created=created,
        effective_at=created,
        due_date=None,
        period_start=period_start,
        period_end=period_end,
        number=f"STRIPE-{invoice_id[-6:].upper()}",
        billing_reason="subscription_cycle",
        total=total,
        subtotal=total,
        total_excluding_tax=total,
        subtotal_excluding_tax=total,
        amount_due=total,
        amount_paid=total if paid else 0,
        amount_remaining=0 if paid else total,
        attempted=attempt_count > 0,
        attempt_count=attempt_count,
        auto_advance=status == "open",
        status_transitions={
            "finalized_at": created,
            "paid_at": created + 60 if paid else None,
            "marked_uncollectible_at": None,
            "voided_at": None,
        },
    )
    return data


def subscription_schedule(
    schedule_id: str, *, customer_id: str, subscription_id: str, phases: list[tuple[int, int, str]]
) -> dict[str, Any]:
    """`phases`: (start, end, price id) each."""
    data = template("subscription_schedule", id=schedule_id, customer=customer_id, subscription=subscription_id)
    phase_template = data["phases"][0]
    data["phases"] = [
        {
            **copy.deepcopy(phase_template),
            "start_date": start,
            "end_date": end,
            "items": [{"price": price_id, "quantity": 1, "discounts": [], "metadata": {}, "tax_rates": []}],
        }
        for start, end, price_id in phases
    ]
    data.update(status="active", canceled_at=None, completed_at=None, released_at=None, released_subscription=None)
    data["current_phase"] = {"start_date": phases[0][0], "end_date": phases[0][1]}
    return data


def event(event_id: str, *, type: str, data: dict[str, Any], created: int, api_version: str = "") -> dict[str, Any]:
    return template(
        "event",
        id=event_id,
        type=type,
        created=created,
        api_version=api_version or settings.STRIPE_API_VERSION,
        data={"object": copy.deepcopy(data), "previous_attributes": {}},
        livemode=False,
    )


def signature_header(payload: str, *, secret: str = "", timestamp: int | None = None) -> str:
    """`Stripe-Signature` as Stripe sends it: `t=<unix time>,v1=<HMAC-SHA256(secret, "t.payload")>`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = secret or settings.STRIPE_WEBHOOK_SECRET
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
