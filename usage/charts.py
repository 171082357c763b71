"""Server-rendered bar charts (inline SVG geometry): no JavaScript, no CDN."""

from __future__ import annotations

from dataclasses import dataclass

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
