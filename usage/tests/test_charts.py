"""The server-side chart builders: daily bars and the ranked (per agent / per key) bars."""

from __future__ import annotations

from decimal import Decimal

from usage.charts import RANKED_LABEL_WIDTH, RANKED_VALUE_WIDTH, RANKED_WIDTH, RankedItem, ranked_chart

SPAN = RANKED_WIDTH - RANKED_LABEL_WIDTH - RANKED_VALUE_WIDTH


def test_ranked_chart_orders_largest_first_and_scales_to_the_peak():
    chart = ranked_chart(
        [RankedItem("b", 50), RankedItem("a", 200), RankedItem("c", 100)], others_label="Others", top=5
    )

    assert [(bar.label, bar.value) for bar in chart.bars] == [("a", 200), ("c", 100), ("b", 50)]
    assert [bar.width for bar in chart.bars] == [SPAN, SPAN / 2, SPAN / 4]
    assert chart.peak == 200
    assert chart.others_count == 0
    assert not any(bar.is_others for bar in chart.bars)
    assert chart.height == 3 * 26


def test_ranked_chart_sums_the_tail_into_an_others_bar():
    items = [RankedItem(f"key-{n}", n) for n in range(1, 8)]  # 1..7

    chart = ranked_chart(items, others_label="Others", top=3)

    assert [(bar.label, bar.value, bar.is_others) for bar in chart.bars] == [
        ("key-7", 7, False),
        ("key-6", 6, False),
        ("key-5", 5, False),
        ("Others", 1 + 2 + 3 + 4, True),
    ]
    assert chart.others_count == 4
    assert chart.named_count == 3
    assert chart.peak == 10  # the others bar may be the tallest
    assert chart.bars[-1].width == SPAN


def test_ranked_chart_sums_decimal_costs_exactly():
    items = [RankedItem("a", Decimal("0.0003")), RankedItem("b", Decimal("0.0002")), RankedItem("c", Decimal("0.0001"))]

    chart = ranked_chart(items, others_label="Others", top=1)

    assert [bar.value for bar in chart.bars] == [Decimal("0.0003"), Decimal("0.0003")]
    assert isinstance(chart.bars[1].value, Decimal)


def test_ranked_chart_is_empty_without_positive_values():
    chart = ranked_chart([RankedItem("idle", 0), RankedItem("free", Decimal(0))], others_label="Others")

    assert chart.is_empty
    assert chart.bars == []
    assert chart.height == 0


def test_ranked_chart_breaks_ties_by_label_and_shortens_long_names():
    long_name = "a-very-long-agent-name-that-will-not-fit"

    chart = ranked_chart([RankedItem("zeta", 5), RankedItem(long_name, 5)], others_label="Others")

    assert [bar.full_label for bar in chart.bars] == [long_name, "zeta"]
    assert chart.bars[0].label.endswith("…")
    assert len(chart.bars[0].label) <= 26
    assert chart.bars[1].label == "zeta"


def test_ranked_chart_tiny_values_still_get_a_visible_bar():
    chart = ranked_chart([RankedItem("big", 1_000_000), RankedItem("tiny", 1)], others_label="Others")

    assert chart.bars[1].width == 1.0


def test_bar_chart_scales_daily_points_to_the_tallest():
    from datetime import date

    from usage.charts import HEIGHT, bar_chart
    from usage.selectors import SeriesPoint

    chart = bar_chart([SeriesPoint(date(2026, 3, 1), 4, 1), SeriesPoint(date(2026, 3, 2), 8, 2)])

    assert [(bar.label, bar.value, bar.height) for bar in chart.bars] == [
        ("2026-03-01", 4, HEIGHT / 2),
        ("2026-03-02", 8, HEIGHT),
    ]
    assert not chart.is_empty
    assert bar_chart([SeriesPoint(date(2026, 3, 1), 0, 0)]).is_empty
