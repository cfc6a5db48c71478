"""Rich rendering of one instance (``show``), its history and ``next`` reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from engine.instance.views import AllowedReport, HistoryEntry

__all__ = ["key_facts", "render_allowed", "render_history", "render_instance"]

_LABELS = {
    "title": "title",
    "country": "country",
    "institution": "institution",
    "areas": "areas",
    "support_type": "support type",
    "approval_reference": "approval ref.",
    "action_code": "action code",
}
_COUNTED = {
    "activities": "planned activities",
    "activity_records": "activity records",
    "experts": "experts",
    "products": "knowledge products",
}


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value != ""


def _institution(value: Any) -> str:
    """``{"name", "acronym", "type", "level"}`` as one line; a plain string as it is."""
    if not isinstance(value, dict):
        return str(value)
    name = str(value.get("name", ""))
    if value.get("acronym"):
        name += f" ({value['acronym']})"
    extra = [str(value[k]) for k in ("type", "level") if value.get(k)]
    return " · ".join([name, *extra])


def key_facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's key facts as (label, text): the technical-assistance keys when present
    (title, country, institution, areas, support type, approval, action code, counts),
    otherwise the first few scalar fields of any workflow's data."""
    facts: list[tuple[str, str]] = []
    for key, label in _LABELS.items():
        value = data.get(key)
        if value in (None, "", [], {}):
            continue
        if key == "institution":
            facts.append((label, _institution(value)))
        elif isinstance(value, list | tuple):
            facts.append((label, ", ".join(str(v) for v in value)))
        else:
            facts.append((label, str(value)))
    for key, label in _COUNTED.items():
        items = data.get(key)
        if isinstance(items, list) and items:
            text = str(len(items))
            days = [i.get("days") for i in items if isinstance(i, dict)]
            if key == "experts" and days and all(isinstance(d, int) for d in days):
                text += f" ({sum(d for d in days if isinstance(d, int))} expert-days)"
            facts.append((label, text))
    if not facts:
        facts = [(k, str(v)) for k, v in data.items() if _scalar(v)][:10]
    return facts


def render_instance(console: Console, p: dict[str, Any]) -> None:
    """Current state and key facts, the stage timeline, what may happen next, warnings."""
    head = Text.assemble((p["state"], "bold green" if p["final"] else "bold cyan"))
    if p["state_description"]:
        head.append(f"  {p['state_description']}", style="dim")
    if p["final"]:
        standing = f"version {p['version']} · final since {p['state_entered_at'][:10]}"
    else:
        standing = f"version {p['version']} · {p['days_in_state']:.1f} days in this state"
        standing += f" · SLA {p['sla_days']} days" if p["sla_days"] else " · no SLA"
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold", no_wrap=True)
    summary.add_column(overflow="fold")
    for label, text in key_facts(p["data"]):
        summary.add_row(label, text)
    parts: list[Any] = [head, Text(standing, style="dim")]
    parts += [
        Text(f"⚠ {w}", style="bold red" if w.startswith("overdue") else "yellow")
        for w in p["warnings"]
    ]
    parts += [Text(""), summary]
    console.print(
        Panel(
            Group(*parts),
            title=f"[bold]{p['id']}[/bold]",
            title_align="left",
            subtitle=f"{p['workflow']} v{p['definition_version']}",
            subtitle_align="right",
        )
    )
    stages = Table(
        "stage",
        "entered",
        "left",
        "days",
        "SLA",
        box=box.SIMPLE_HEAD,
        title="stage timeline",
        title_justify="left",
        title_style="bold",
    )
    for s in p["stages"]:
        ended = s["left_at"] is not None
        left = s["left_at"][:10] if ended else ("(final)" if p["final"] else "now")
        days = f"{s['days']:g}" if ended or not p["final"] else ""
        stages.add_row(
            s["state"],
            s["entered_at"][:10],
            left,
            days,
            str(s["sla_days"] or ""),
            style="red" if s["late"] else None,
        )
    console.print(stages)
    _render_next(console, p)


def _render_next(console: Console, p: dict[str, Any]) -> None:
    if not p["next"]:
        console.print(Text("final state: nothing more can happen", style="dim"))
        return
    table = Table(
        "trigger",
        "to",
        "who may fire it",
        box=box.SIMPLE_HEAD,
        title="what may happen next",
        title_justify="left",
        title_style="bold",
    )
    for n in p["next"]:
        table.add_row(n["trigger"], n["to"], ", ".join(n["roles"]))
    console.print(table)


def render_history(console: Console, entries: Sequence[HistoryEntry]) -> None:
    """A readable timeline: when, version, trigger and move, who in which role, why, guards."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(overflow="fold")
    for e in entries:
        body = Text.assemble(
            (e.trigger, "bold"), "  ", (e.source or "(start)", "cyan"), " → ", (e.dest, "cyan")
        )
        body.append(f"\nby {e.actor} as {e.role}")
        if e.reason:
            body.append(f"\nwhy: {e.reason}", style="italic")
        if e.guards:
            body.append("\nguards: ")
            for i, g in enumerate(e.guards):
                body.append(", " if i else "")
                body.append(f"{g.name} {'✓' if g.ok else '✗'}", style="green" if g.ok else "red")
        grid.add_row(e.at.strftime("%Y-%m-%d %H:%M"), f"v{e.version}", body)
    console.print(grid)
    console.print(Text(f"{len(entries)} event(s)", style="dim"))


def render_allowed(
    console: Console, reports: Sequence[AllowedReport], *, every_role: bool = False
) -> None:
    """Per actor: allowed triggers, triggers needing a payload, refused ones and why.

    With ``every_role`` (``next`` without ``--as``) a role's refusals for triggers it may
    never fire are left out: only what each role could do, and why it cannot yet, remains.
    """
    hidden = (
        {"transition_not_allowed", "permission_denied"}
        if every_role
        else {"transition_not_allowed"}
    )
    idle: list[str] = []
    for r in reports:
        table = Table("trigger", "verdict", "why", box=box.SIMPLE_HEAD)
        for t in r.allowed:
            table.add_row(t, "[green]allowed[/green]", "")
        for t in r.needs_payload:
            table.add_row(
                t,
                "[yellow]allowed with payload[/yellow]",
                "role and state allow it; guards check the payload",
            )
        for ref in r.refused:
            if ref.code not in hidden:
                table.add_row(ref.trigger, f"[red]{ref.code}[/red]", ref.reason)
        if table.row_count:
            console.print(
                Text(f"as {r.actor.role} ({r.actor.id}) in state {r.state}", style="bold")
            )
            console.print(table)
        else:
            idle.append(r.actor.role)
    if idle:
        console.print(Text(f"nothing to do now for: {', '.join(idle)}", style="dim"))
