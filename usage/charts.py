"""Server-rendered bar charts (inline SVG geometry): no JavaScript, no CDN."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from usage.selectors import SeriesPoint

WIDTH = 640
HEIGHT = 140
GAP = 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def is_empty(self) -> bool:
        return self.peak == 0


def bar_chart(points: list[SeriesPoint]) -> BarChart:
    """One bar per point, scaled so the highest reaches the top."""
    peak = max((point.quantity for point in points), default=0)
    slot = WIDTH / max(1, len(points))
    bars = []
    for index, point in enumerate(points):
        height = 0.0 if peak == 0 else HEIGHT * point.quantity / peak
        bars.append(
            Bar(
                x=round(index * slot + GAP / 2, 2),
                y=round(HEIGHT - height, 2),
                width=round(max(1.0, slot - GAP), 2),
                height=round(height, 2),
                label=point.start.isoformat()[:10],
                value=point.quantity,
            )
        )
    return BarChart(bars=bars, peak=peak)


# --- Ranked charts: one horizontal bar per agent or key, largest first -------------------------

RANKED_TOP = 8  # bars drawn by name; the rest are summed into one "others" bar
RANKED_WIDTH = 640
RANKED_ROW = 26
RANKED_BAR = 18
RANKED_LABEL_WIDTH = 180  # left column for names
RANKED_VALUE_WIDTH = 110  # right column for values
RANKED_LABEL_CHARS = 26


@dataclass(frozen=True)
class RankedItem:
    label: str
    value: int | Decimal


@dataclass(frozen=True)
class RankedBar:
    y: float
    width: float
    label: str  # shortened to fit the label column
    full_label: str
    value: int | Decimal
    is_others: bool = False

    @property
    def text_y(self) -> float:
        return round(self.y + RANKED_BAR / 2, 2)


@dataclass(frozen=True)
class RankedChart:
    bars: list[RankedBar]
    peak: int | Decimal
    others_count: int  # how many items the "others" bar sums
    width: int = RANKED_WIDTH
    bar_x: int = RANKED_LABEL_WIDTH
    value_x: int = RANKED_WIDTH - RANKED_VALUE_WIDTH + 8
    bar_height: int = RANKED_BAR

    @property
    def height(self) -> int:
        return len(self.bars) * RANKED_ROW

    @property
    def is_empty(self) -> bool:
        return not self.bars

    @property
    def named_count(self) -> int:
        """Bars of one item each (all but the "others" bar)."""
        return len(self.bars) - (1 if self.others_count else 0)


def _shorten(label: str) -> str:
    return label if len(label) <= RANKED_LABEL_CHARS else label[: RANKED_LABEL_CHARS - 1] + "…"


def ranked_chart(items: list[RankedItem], *, others_label: str, top: int = RANKED_TOP) -> RankedChart:
    """The `top` largest items as bars (ties by label), the rest summed into one `others_label`
    bar; bars scale so the largest fills the bar column. Items of 0 or less are left out."""
    ranked = sorted((item for item in items if item.value > 0), key=lambda item: (-item.value, item.label))
    shown, rest = ranked[:top], ranked[top:]
    if rest:
        shown.append(RankedItem(others_label, sum((item.value for item in rest), start=0)))
    peak = max((item.value for item in shown), default=0)
    span = RANKED_WIDTH - RANKED_LABEL_WIDTH - RANKED_VALUE_WIDTH
    bars = [
        RankedBar(
            y=index * RANKED_ROW + (RANKED_ROW - RANKED_BAR) / 2,
            width=round(max(1.0, span * float(item.value) / float(peak)), 2),
            label=_shorten(item.label),
            full_label=item.label,
            value=item.value,
            is_others=bool(rest) and index == len(shown) - 1,
        )
        for index, item in enumerate(shown)
    ]
    return RankedChart(bars=bars, peak=peak, others_count=len(rest))
