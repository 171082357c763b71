"""What a completion costs: the platform's model prices (metering.ModelPrice), per 1,000 tokens."""

from __future__ import annotations

from decimal import Decimal

from metering.selectors import model_price_map

COST_CURRENCY = "USD"  # the price table's currency
COST_PLACES = Decimal("0.000001")
LOCAL_PREFIX = "local/"


def token_cost(*, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """`model` is `<provider>/<model>` as in the price table. The local provider runs on the
    platform's own machines and costs 0 (no price lookup); a model staff have not priced yet too."""
    if model.startswith(LOCAL_PREFIX):
        return Decimal(0).quantize(COST_PLACES)
    price = model_price_map().get(model)
    if price is None:
        return Decimal(0).quantize(COST_PLACES)
    cost = (Decimal(prompt_tokens) * price.input_per_1k + Decimal(completion_tokens) * price.output_per_1k) / 1000
    return cost.quantize(COST_PLACES)
