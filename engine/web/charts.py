"""Server-rendered SVG bar charts: the geometry is computed here, the template draws it.

No styles in the SVG (the CSP forbids inline styles): sizes are SVG attributes and colours
come from the stylesheet's classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["Bar", "BarChart", "bar_chart", "stage_chart"]

ROW = 22
"""Height of one bar's row, in SVG units."""
WIDTH = 560
"""The chart's width in SVG units (it scales to its container)."""
CHAR = 7.2
"""Roughly one character's width at the chart's font size."""


@dataclass(frozen=True)
class Bar:
    """One row: its label, its value (as shown), where it sits and how long its bars are."""

    label: str
    value: str
    y: float
    width: float
    back: float = 0.0
    """A second, wider bar drawn behind (the p90 behind the median)."""
    href: str | None = None
    """The request list filtered to this bar (a path under the console's root)."""


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart, with a title and its data for a screen reader's table."""

    title: str
    bars: tuple[Bar, ...]
    label_width: float
    height: float
    width: float = WIDTH
    hidden: int = 0
    """Rows left out (past ``top``)."""

    @property
    def bar_x(self) -> float:
        """Where the bars start."""
        return self.label_width + 8


def _label_width(labels: Iterable[str]) -> float:
    return min(200.0, max((len(k) for k in labels), default=4) * CHAR + 4)


def bar_chart(
    title: str,
    counts: Mapping[str, int | float],
    *,
    top: int = 0,
    by_key: bool = False,
    ordered: bool = False,
    unit: str = "",
    link: str | None = None,
) -> BarChart:
    """``counts`` as bars: largest first (``top`` rows at most), in key order with
    ``by_key``, or in the mapping's own order with ``ordered``; with ``link`` (a filter
    name), each bar links to the request list filtered on its key."""
    items = list(counts.items())
    if not ordered:
        items.sort(key=lambda kv: kv[0] if by_key else (-kv[1], kv[0]))
    hidden = max(0, len(items) - top) if top else 0
    items = items[:top] if top else items
    label_w = _label_width(k for k, _ in items)
    room = WIDTH - label_w - 8 - 70
    peak = max((v for _, v in items), default=0) or 1
    bars = tuple(
        Bar(
            label=k,
            value=f"{v:g}{unit}",
            y=i * ROW,
            width=max(1.0, round(room * v / peak, 1)) if v else 0.0,
            href=f"/requests?{urlencode({link: k})}" if link else None,
        )
        for i, (k, v) in enumerate(items)
    )
    return BarChart(title, bars, label_w, max(ROW, len(bars) * ROW), hidden=hidden)


def stage_chart(title: str, stages: Iterable[tuple[str, float, float]]) -> BarChart:
    """Median (front) and p90 (behind) days per stage, from ``(state, median, p90)``."""
    rows = list(stages)
    label_w = _label_width(s for s, _, _ in rows)
    room = WIDTH - label_w - 8 - 140
    peak = max((p90 for _, _, p90 in rows), default=0) or 1
    bars = tuple(
        Bar(
            label=state,
            value=f"{median:.1f} / {p90:.1f} d",
            y=i * ROW,
            width=max(1.0, round(room * median / peak, 1)) if median else 0.0,
            back=max(1.0, round(room * p90 / peak, 1)) if p90 else 0.0,
        )
        for i, (state, median, p90) in enumerate(rows)
    )
    return BarChart(title, bars, label_w, max(ROW, len(bars) * ROW))
