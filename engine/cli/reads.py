"""``list`` and ``stats``: the portfolio through the projections."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from engine.cli.console import handles_errors, state_of

__all__ = ["register"]


@handles_errors
def list_requests(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO alpha-2 country code.")] = None,
    area: Annotated[str | None, typer.Option(help="Area code.")] = None,
    region: Annotated[str | None, typer.Option(help="Region code.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue requests.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many rows.")] = 0,
) -> None:
    """List requests, newest activity first, with filters."""
    st = state_of(ctx)
    filters: dict[str, Any] = {"state": state, "country": country, "area": area,
                               "region": region, "overdue": True if overdue else None}
    rows = st.engine().requests(limit=limit, offset=offset,
                                **{k: v for k, v in filters.items() if v is not None})

    def render() -> None:
        from rich.table import Table

        table = Table("id", "state", "country", "institution", "title", "updated", "due")
        for r in rows:
            due = "[red]OVERDUE[/red]" if r.overdue else (r.due_at.date().isoformat()
                                                         if r.due_at else "")
            table.add_row(r.id[:8], r.state, r.country or "", (r.institution or "")[:32],
                          (r.title or "")[:40], r.updated_at.date().isoformat(), due)
        st.console.print(table)
        st.console.print(f"{len(rows)} request(s)")

    st.out([r.model_dump(mode="json") for r in rows], render)


def _bars(console: Any, title: str, counts: dict[str, int], width: int = 40) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=None, show_header=False)
    top = max(counts.values(), default=0) or 1
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(key, str(n), "█" * max(1, round(width * n / top)))
    console.print(table)


@handles_errors
def stats(ctx: typer.Context) -> None:
    """Portfolio figures: counts by state, area, country and year; stage times; funnel."""
    st = state_of(ctx)
    figures = st.engine().portfolio()

    def render() -> None:
        from rich.table import Table

        f = figures
        st.console.print(f"[bold]{f.total}[/bold] requests, [red]{f.overdue}[/red] overdue")
        _bars(st.console, "by state", f.by_state)
        _bars(st.console, "by area", f.by_area)
        _bars(st.console, "by region", f.by_region)
        _bars(st.console, "by year", f.by_year)
        times = Table("stage", "stays", "median days", "p90 days", title="time in stage",
                      title_justify="left")
        for s in f.stage_times:
            times.add_row(s.state, str(s.stays), f"{s.median_days:.1f}", f"{s.p90_days:.1f}")
        st.console.print(times)
        fn = f.funnel
        st.console.print(
            f"funnel: submitted {fn.submitted} -> approved {fn.approved} "
            f"({fn.approval_rate:.0%}) -> disseminated {fn.disseminated} "
            f"({fn.dissemination_rate:.0%} of approved)")
        st.console.print(f"countries: {len(f.by_country)}")

    st.out(figures.model_dump(mode="json"), render)


def register(app: typer.Typer) -> None:
    """Add ``list`` and ``stats``."""
    app.command("list")(list_requests)
    app.command()(stats)
