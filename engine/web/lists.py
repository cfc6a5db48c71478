"""The Portfolio and Requests pages: what each shows, read through the public façade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import InvalidArgument
from engine.facade import Engine
from engine.web.cache import HeadCache
from engine.web.charts import BarChart, bar_chart, stage_chart
from engine.web.params import PAGE_SIZES, SORTS, RequestFilters, engine_filters, parse_filters
from projections.portfolio import Portfolio
from projections.requests import RequestRow, RequestsProjection

__all__ = ["PortfolioPage", "RequestsPage", "portfolio_page", "requests_page"]


@dataclass(frozen=True)
class PortfolioPage:
    """The portfolio's figures and their charts."""

    figures: Portfolio
    charts: tuple[BarChart, ...]
    funnel: BarChart
    stages: BarChart


def _figures(engine: Engine) -> Portfolio:
    figures = engine.portfolio()
    if not isinstance(figures, Portfolio):
        raise InvalidArgument("the installed portfolio projection is not the built-in one")
    return figures


def portfolio_page(engine: Engine, cache: HeadCache) -> PortfolioPage:
    """Counts by state, country, region, area and year; the funnel; time per stage."""
    figures = cache.get("portfolio", lambda: _figures(engine), Portfolio)
    charts = (
        bar_chart("By state", figures.by_state, link="state"),
        bar_chart("By country (top 12)", figures.by_country, top=12, link="country"),
        bar_chart("By region", figures.by_region),
        bar_chart("By area (top 12)", figures.by_area, top=12, link="area"),
        bar_chart("By year submitted", figures.by_year, by_key=True),
    )
    f = figures.funnel
    funnel = bar_chart(
        "Funnel",
        {"submitted": f.submitted, "approved": f.approved, "disseminated": f.disseminated},
        ordered=True,
    )
    stages = stage_chart(
        "Days per stage: median (dark) and p90 (light)",
        ((s.state, s.median_days, s.p90_days) for s in figures.stage_times),
    )
    return PortfolioPage(figures, charts, funnel, stages)


@dataclass(frozen=True)
class RequestsPage:
    """One page of the filtered list, with what the filter form offers."""

    filters: RequestFilters
    rows: tuple[RequestRow, ...]
    total: int
    next_cursor: str | None
    states: tuple[str, ...]
    areas: tuple[str, ...]
    definitions: tuple[str, ...]
    sorts: tuple[str, ...] = SORTS
    sizes: tuple[int, ...] = PAGE_SIZES


def known_states(engine: Engine) -> list[str]:
    """Every state an installed definition declares, sorted."""
    return sorted({s.name for c in engine.registry.all() for s in c.definition.states})


def requests_page(engine: Engine, query: Mapping[str, str], cache: HeadCache) -> RequestsPage:
    """The requests matching ``query``'s filters, one keyset page, with the total."""
    listing = engine.projection(RequestsProjection)
    states = known_states(engine)
    areas: list[str] = cache.get("areas", listing.areas, list)
    definitions = sorted(c.definition.key for c in engine.registry.all())
    filters = parse_filters(query, states=states, areas=areas, definitions=definitions)
    page = engine.requests(**engine_filters(filters, engine))
    return RequestsPage(
        filters=filters,
        rows=tuple(r for r in page if isinstance(r, RequestRow)),
        total=page.total,
        next_cursor=page.next_cursor,
        states=tuple(states),
        areas=tuple(areas),
        definitions=tuple(definitions),
    )
