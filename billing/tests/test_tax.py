"""Tax: the billing profile and the country's rate decide it when an invoice is issued; EU reverse charge."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from billing.invoices import InvoiceLineSpec, invoice_create
from billing.models import Invoice, TaxRate
from billing.tax import REVERSE_CHARGE_NOTE, billing_profile_set, tax_rate_save
from billing.tests.factories import TESTS
from config.errors import ValidationFailed
from tenants.models import Tenant


def _profile(tenant: Tenant, country: str, tax_id: str = "") -> None:
    billing_profile_set(
        tenant=tenant, legal_name="Alpha Trading LLC", address="1 King Road\nRiyadh", country=country, tax_id=tax_id,
        actor=TESTS,
    )  # fmt: skip


def _invoice(tenant: Tenant, amount: int = 14_900) -> Invoice:
    now = timezone.now()
    return invoice_create(
        tenant=tenant, currency="USD", lines=[InvoiceLineSpec("Plan", amount)], period_start=now, period_end=now
    )


def _tax(invoice: Invoice) -> tuple[int, int, Decimal, str, str]:
    return invoice.tax, invoice.total, invoice.tax_rate, invoice.tax_name, invoice.tax_note


def test_without_a_billing_profile_an_invoice_has_no_tax_and_the_workspace_name(tenant_a):
    invoice = _invoice(tenant_a.tenant)

    assert _tax(invoice) == (0, 14_900, Decimal(0), "", "")
    assert (invoice.buyer_name, invoice.buyer_country) == ("Alpha Ltd", "")
    assert invoice.seller_details.startswith("Agentry Ltd\n")


def test_saudi_buyer_pays_15_percent_vat(tenant_a):
    _profile(tenant_a.tenant, "SA", tax_id="300000000000003")

    invoice = _invoice(tenant_a.tenant, amount=14_903)

    assert _tax(invoice) == (2_235, 17_138, Decimal("15.00"), "VAT", "")  # 2,235.45 rounds half up to 2,235
    assert (invoice.buyer_name, invoice.buyer_address, invoice.buyer_country, invoice.buyer_tax_id) == (
        "Alpha Trading LLC",
        "1 King Road\nRiyadh",
        "SA",
        "300000000000003",
    )


def test_tax_rounds_half_up_to_the_minor_unit(tenant_a):
    _profile(tenant_a.tenant, "SA")

    assert _invoice(tenant_a.tenant, amount=10_003).tax == 1_500  # 1,500.45
    assert _invoice(tenant_a.tenant, amount=10_010).tax == 1_502  # 1,501.5 → 1,502


def test_eu_business_in_another_country_than_the_seller_is_reverse_charged(tenant_a, settings):
    settings.BILLING_SELLER_COUNTRY = "IE"
    _profile(tenant_a.tenant, "DE", tax_id="de 123 456 789")

    invoice = _invoice(tenant_a.tenant)

    assert _tax(invoice) == (0, 14_900, Decimal(0), "VAT", REVERSE_CHARGE_NOTE)
    assert invoice.buyer_tax_id == "DE123456789"


def test_eu_consumer_without_a_vat_id_pays_their_countrys_vat(tenant_a):
    _profile(tenant_a.tenant, "DE")

    assert _tax(_invoice(tenant_a.tenant))[:4] == (2_831, 17_731, Decimal("19.00"), "VAT")


def test_eu_business_in_the_sellers_own_country_pays_domestic_vat(tenant_a, settings):
    settings.BILLING_SELLER_COUNTRY = "IE"
    _profile(tenant_a.tenant, "IE", tax_id="IE1234567T")

    assert _tax(_invoice(tenant_a.tenant))[:4] == (3_427, 18_327, Decimal("23.00"), "VAT")


def test_us_buyer_pays_0_and_a_country_without_a_rate_too(tenant_a):
    _profile(tenant_a.tenant, "US")
    assert _tax(_invoice(tenant_a.tenant))[:4] == (0, 14_900, Decimal(0), "Sales tax")

    _profile(tenant_a.tenant, "BR")
    assert _tax(_invoice(tenant_a.tenant))[:4] == (0, 14_900, Decimal(0), "Tax")


def test_an_issued_invoice_keeps_its_tax_and_buyer_when_the_profile_or_rate_changes(tenant_a):
    _profile(tenant_a.tenant, "SA")
    invoice = _invoice(tenant_a.tenant)

    _profile(tenant_a.tenant, "US")
    rate = TaxRate.objects.get(country="SA")
    rate.rate = Decimal("20.00")
    tax_rate_save(tax_rate=rate, actor=TESTS)

    invoice.refresh_from_db()
    assert (invoice.tax, invoice.buyer_country) == (2_235, "SA")


@pytest.mark.parametrize(
    ("country", "tax_id", "field"),
    [
        ("DE", "FR123456789", "tax_id"),  # another country's prefix
        ("DE", "123456789", "tax_id"),
        ("GR", "GR123456789", "tax_id"),  # Greece's VAT ids start with EL
        ("Germany", "", "country"),
        ("de1", "", "country"),
    ],
)
def test_billing_profile_refuses_bad_countries_and_eu_vat_ids(tenant_a, country, tax_id, field):
    with pytest.raises(ValidationFailed) as error:
        _profile(tenant_a.tenant, country, tax_id=tax_id)

    assert field in error.value.errors


def test_billing_profile_changes_are_audited_in_the_tenants_trail(tenant_a):
    _profile(tenant_a.tenant, "SA")
    _profile(tenant_a.tenant, "SA")  # unchanged: no second event
    _profile(tenant_a.tenant, "DE", tax_id="DE123456789")

    with schema_context(tenant_a.schema):
        events = list(AuditEvent.objects.filter(action="billing.profile_updated").order_by("id"))
    assert len(events) == 2
    assert events[1].data["changes"] == {"country": ["SA", "DE"], "tax_id": ["", "DE123456789"]}


def test_tax_rate_changes_are_audited(tenant_a):
    rate = TaxRate.objects.get(country="DE")
    rate.rate = Decimal("19.50")
    tax_rate_save(tax_rate=rate, actor=TESTS)

    [event] = AuditEvent.objects.filter(action="billing.tax_rate_set")
    assert event.data["changes"] == {"rate": ["19.00", "19.50"]}
