"""``list`` and ``stats``: the portfolio through the projections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli.console import (
    BOUNDLESS,
    OutputFormat,
    bounded,
    handles_errors,
    plural,
    state_of,
    table,
)
from engine.cli.examples import example
from engine.errors import InvalidArgument

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from rich.console import Console
    from rich.table import Table

    from engine.facade import Engine
    from engine.projection.page import Page
    from projections.portfolio import Portfolio
    from projections.requests import RequestRow, RequestsProjection

__all__ = ["register"]

WIDE = 140
"""From this many columns on, ``list`` also shows the institution and the areas."""
SORTS = ("updated", "created", "id")
"""``list --sort``: most recent activity, most recently submitted, or by id."""
FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option("--format", help="table, json or csv (default table; json with --json)."),
]


def check_state(engine: Engine, state: str) -> str:
    """``state`` if an installed definition declares it; else exit 2 naming the valid ones."""
    known = sorted({s.name for c in engine.registry.all() for s in c.definition.states})
    if state not in known:
        raise InvalidArgument(f"--state: unknown state {state!r} (valid: {', '.join(known)})")
    return state


def check_area(requests: RequestsProjection, area: str) -> str:
    """``area`` if some request in the read model has it; else exit 2 naming the known ones."""
    known = requests.areas()
    if area not in known:
        listed = ", ".join(known) or "none yet"
        raise InvalidArgument(f"--area: unknown area {area!r} (known: {listed})")
    return area


def _time(option: str, text: str | None) -> datetime | None:
    """``--since``/``--until``: an ISO 8601 time (naive is UTC), or ``None``."""
    from engine.cli.inputs import parse_time

    if text is None:
        return None
    try:
        return parse_time(text)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{option}: {exc.message}") from None


@handles_errors
def list_requests(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO alpha-2 country code.")] = None,
    area: Annotated[str | None, typer.Option(help="Area code, e.g. sp.insurance.pensions.")] = None,
    region: Annotated[str | None, typer.Option(help="Region code.")] = None,
    institution: Annotated[
        str | None, typer.Option(help="Only this institution (exact name).")
    ] = None,
    q: Annotated[
        str | None,
        typer.Option("--q", help="Text in the title or institution (any case)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Last activity at or after this ISO time (naive: UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last activity before this ISO time (naive: UTC).")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue requests.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows (1-10000).")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many rows.")] = 0,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after a previous page (its next cursor).")
    ] = None,
    page: Annotated[
        bool,
        typer.Option("--page", help='JSON as {"items", "total", "next_cursor"} instead of a list.'),
    ] = False,
    sort: Annotated[
        str, typer.Option("--sort", help="updated (default), created or id.")
    ] = "updated",
    fmt: FormatOpt = None,
) -> None:
    """List requests, most recent activity first, with filters (combined with AND)."""
    from projections.requests import RequestsProjection

    st = state_of(ctx)
    if sort not in SORTS:
        raise InvalidArgument(f"--sort: unknown order {sort!r} (valid: {', '.join(SORTS)})")
    requests = st.engine().projection(RequestsProjection)
    filters: dict[str, Any] = {
        "state": check_state(st.engine(), state) if state is not None else None,
        "country": country.upper() if country is not None else None,
        "area": check_area(requests, area) if area is not None else None,
        "region": region,
        "institution": institution,
        "q": q,
        "since": _time("--since", since),
        "until": _time("--until", until),
        "overdue": True if overdue else None,
    }
    chosen = {k: v for k, v in filters.items() if v is not None}
    rows = requests.list(limit=limit, offset=offset, order=sort, cursor=cursor, **chosen)

    items = [r.model_dump(mode="json") for r in rows]
    paged = {"items": items, "total": rows.total, "next_cursor": rows.next_cursor}
    at = None if cursor is not None else offset
    st.out(paged if page else items, lambda: _render_list(st.console, rows, at), fmt, lambda: items)


def _render_list(console: Console, rows: Page[RequestRow], offset: int | None) -> None:
    """The ``list`` table, ``1-50 of N requests`` (``offset`` ``None``: a cursor's page, whose
    position is not known) and, when more rows match, ``next page: --cursor C``."""
    if rows:
        console.print(_requests_table(rows, console.width))
    if not rows:
        span = "0 of "
    elif offset is None:
        span = f"{len(rows)} more of "
    else:
        span = f"{offset + 1}-{offset + len(rows)} of "
    console.print(span + plural(rows.total, "request"), highlight=False)
    if rows.next_cursor is not None:
        console.print(f"next page: --cursor {rows.next_cursor}", highlight=False)


def _requests_table(rows: Sequence[RequestRow], width: int) -> Table:
    """The ``list`` table; from :data:`WIDE` columns on, with the institution and areas."""
    wide = WIDE <= width < BOUNDLESS
    widths = {
        "id": 8,
        "state": max((len(r.state) for r in rows), default=5),
        "cc": 2,
        "institution": 32 if wide else 0,
        "areas": 24 if wide else 0,
        "updated": 10,
        "due": 10,
    }
    shown = {k: w for k, w in widths.items() if w}
    # columns are 3 characters apart (padding and divider); the title takes the rest
    title_w = max(12, width - sum(shown.values()) - 3 * len(shown) - 2)
    out = table(pad_edge=False)
    for name in ("id", "state", "cc"):
        out.add_column(name, no_wrap=True)
    out.add_column("title", no_wrap=True, overflow="ellipsis", max_width=title_w)
    for name in ("institution", "areas"):
        if wide:
            out.add_column(name, no_wrap=True, overflow="ellipsis", max_width=widths[name])
    out.add_column("updated", no_wrap=True)
    out.add_column("due", no_wrap=True)
    for r in rows:
        out.add_row(*_request_cells(r, wide=wide))
    return out


def _request_cells(r: RequestRow, *, wide: bool) -> list[str]:
    due = "[red]OVERDUE[/red]" if r.overdue else (r.due_at.date().isoformat() if r.due_at else "")
    extra = [r.institution or "", ", ".join(r.areas)] if wide else []
    return [
        str(r.id)[:8],
        r.state,
        r.country or "",
        r.title or "",
        *extra,
        r.updated_at.date().isoformat(),
        due,
    ]


def bars(
    console: Console, title: str, counts: dict[str, int], *, top: int = 0, by_key: bool = False
) -> None:
    """A terminal bar chart of ``counts``: largest first (``top`` rows at most), or in key
    order with ``by_key``."""
    from rich.table import Table
    from rich.text import Text

    items = sorted(counts.items(), key=lambda kv: kv[0] if by_key else (-kv[1], kv[0]))
    hidden = items[top:] if top else []
    items = items[:top] if top else items
    label_w = max((len(k) for k, _ in items), default=0)
    count_w = max((len(str(n)) for _, n in items), default=1)
    room = console.width if bounded(console) else 80  # piped: bars as on 80 columns
    width = max(10, room - label_w - count_w - 6)
    peak = max((n for _, n in items), default=0) or 1
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    for key, n in items:
        table.add_row(key, str(n), Text("█" * max(1, round(width * n / peak)), style="cyan"))
    console.print(Text(title, style="bold"))
    console.print(table)
    if hidden:
        console.print(Text(f"... and {len(hidden)} more", style="dim"))


@handles_errors
def stats(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """Portfolio figures: counts by state, area, region, country and year; stage times;
    the funnel."""
    from projections.portfolio import PortfolioProjection

    st = state_of(ctx)
    figures = st.engine().projection(PortfolioProjection).figures()
    payload = figures.model_dump(mode="json")
    st.out(
        payload, lambda: _render_portfolio(st.console, figures), fmt, lambda: _stat_rows(payload)
    )


def _stat_rows(p: dict[str, Any]) -> list[dict[str, Any]]:
    """``stats --format csv``: one ``figure, key, value`` row a number."""
    rows = [{"figure": "total", "key": "", "value": p["total"]}]
    rows.append({"figure": "overdue", "key": "", "value": p["overdue"]})
    for figure in ("by_state", "by_area", "by_region", "by_country", "by_year"):
        rows += [{"figure": figure, "key": k, "value": n} for k, n in p[figure].items()]
    for s in p["stage_times"]:
        for name in ("stays", "median_days", "p90_days"):
            rows.append({"figure": f"stage_{name}", "key": s["state"], "value": s[name]})
    rows += [{"figure": "funnel", "key": k, "value": v} for k, v in p["funnel"].items()]
    return rows


def _render_portfolio(con: Console, f: Portfolio) -> None:
    con.print(
        f"[bold]{f.total}[/bold] requests in {len(f.by_country)} countries, "
        f"[red]{f.overdue}[/red] overdue"
    )
    for title, counts, top in (
        ("by state", f.by_state, 0),
        ("by area", f.by_area, 12),
        ("by region", f.by_region, 0),
        ("by country (top 10)", f.by_country, 10),
        ("by year submitted", f.by_year, 0),
    ):
        if counts:
            con.print()
            bars(con, title, counts, top=top, by_key=title.endswith("submitted"))
    times = table("stage", "stays", "median days", "p90 days")
    for s in f.stage_times:
        times.add_row(s.state, str(s.stays), f"{s.median_days:.1f}", f"{s.p90_days:.1f}")
    con.print()
    con.print("[bold]time in stage[/bold]")
    con.print(times)
    fn = f.funnel
    con.print(
        f"funnel: submitted {fn.submitted} -> approved {fn.approved} "
        f"({fn.approval_rate:.0%}) -> disseminated {fn.disseminated} "
        f"({fn.dissemination_rate:.0%} of approved)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``list`` and ``stats``."""
    app.command(
        "list",
        epilog=example(
            "socieux list --state STATE --country zm --overdue --sort created",
            "socieux list --q pensions --since 2024-01-01 --limit 20",
            "socieux list --format json --page --cursor CURSOR",
            "socieux list --format csv > requests.csv",
        ),
    )(list_requests)
    app.command(epilog=example("socieux stats --format csv"))(stats)
