"""The portal usage page through HTTP: per-agent and per-key bar charts next to their tables."""

from __future__ import annotations

import re
from decimal import Decimal

from apikeys.tests.factories import IssuedApiKeyFactory
from conftest import signed_in_client
from metering.models import ModelPrice
from usage.meters import Meter
from usage.recorder import usage_record
from usage.rollup import usage_rollup


def _svg(html: str, chart_id: str) -> str:
    match = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def _bars(svg: str) -> list[tuple[str, str]]:
    return re.findall(r'<g class="ranked-bar[^"]*" data-label="([^"]*)" data-value="([^"]*)"', svg)


def test_usage_page_charts_top_agents_and_keys_with_an_others_bar(tenant_a, tenant_b):
    ModelPrice.objects.create(
        provider="pagetest", model="m", input_price_per_1k=Decimal("1"), output_price_per_1k=Decimal("1")
    )
    keys = [IssuedApiKeyFactory.create(tenant=tenant_a.tenant, name=f"Key {n}") for n in range(10)]
    for n, key in enumerate(keys):
        usage_record(
            tenant=tenant_a.tenant,
            meter=Meter.API_CALLS,
            quantity=n + 1,
            idempotency_id=f"call-{n}",
            key_id=key.key.pk,
        )
    for agent, tokens, model in (("sales-bot", 4000, "pagetest/m"), ("support-bot", 2000, "pagetest/m")):
        usage_record(
            tenant=tenant_a.tenant,
            meter=Meter.TOKENS,
            quantity=tokens,
            idempotency_id=f"tok-{agent}",
            agent_id=agent,
            model=model,
            token_type="output",
        )
    usage_record(
        tenant=tenant_a.tenant,
        meter=Meter.TOKENS,
        quantity=9000,
        idempotency_id="tok-free",
        agent_id="unpriced-bot",
        model="nowhere/x",
        token_type="input",
    )
    usage_rollup(tenant=tenant_a.tenant)

    html = signed_in_client(tenant_a).get("/usage/").content.decode()

    keys_svg = _svg(html, "chart-per-key")
    assert 'role="img"' in keys_svg
    assert 'aria-labelledby="chart-per-key-title chart-per-key-desc"' in keys_svg
    assert '<title id="chart-per-key-title">Top API keys by calls</title>' in keys_svg
    assert "for the 8 busiest keys (and an “Others” bar for the rest)" in keys_svg
    assert _bars(keys_svg) == [(f"Key {n}", str(n + 1)) for n in range(9, 1, -1)] + [("Others", "3")]
    assert "“Others” sums 2 more." in html
    assert 'id="usage-per-key"' in html  # the table stays, with every key
    tokens_svg = _svg(html, "chart-agent-tokens")
    assert _bars(tokens_svg) == [("unpriced-bot", "9000"), ("sales-bot", "4000"), ("support-bot", "2000")]
    cost_svg = _svg(html, "chart-agent-cost")
    assert _bars(cost_svg) == [("sales-bot", "4.0000"), ("support-bot", "2.0000")]  # unpriced-bot costs nothing
    assert "Top agents by cost (USD)" in html

    other = signed_in_client(tenant_b).get("/usage/").content.decode()
    assert "Key 9" not in other and "sales-bot" not in other
    assert 'id="chart-per-key"' not in other
    assert "No API calls this month." in other


def test_usage_page_cost_chart_empty_when_no_model_is_priced(tenant_a):
    usage_record(
        tenant=tenant_a.tenant,
        meter=Meter.TOKENS,
        quantity=500,
        idempotency_id="tok-unpriced",
        agent_id="free-bot",
        model="nowhere/x",
        token_type="input",
    )
    usage_rollup(tenant=tenant_a.tenant)

    html = signed_in_client(tenant_a).get("/usage/").content.decode()

    assert _bars(_svg(html, "chart-agent-tokens")) == [("free-bot", "500")]
    assert 'id="chart-agent-cost"' not in html
    assert "No priced model tokens this month" in html
