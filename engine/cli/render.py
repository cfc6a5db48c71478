"""Rich rendering of instances, histories and allowed-trigger reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from engine.views import AllowedReport, HistoryEntry

__all__ = ["render_allowed", "render_history", "render_instance"]

_KEY_FACTS = ("title", "country", "institution_name", "institution", "areas", "support_type",
              "approval_reference")


def _fact(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def render_instance(console: Console, p: dict[str, Any]) -> None:
    """State panel, key facts, stage timeline and what may happen next."""
    status = f"[bold]{p['state']}[/bold]  (version {p['version']}, {p['workflow']} " \
             f"v{p['definition_version']})"
    if p["overdue"]:
        status += f"\n[red]OVERDUE[/red]: {p['days_in_state']} days in {p['state']}, " \
                  f"SLA {p['sla_days']} days"
    elif p["sla_days"]:
        status += f"\n{p['days_in_state']} of {p['sla_days']} SLA days used"
    facts = Table.grid(padding=(0, 2))
    for key in _KEY_FACTS:
        if key in p["data"]:
            facts.add_row(key, _fact(p["data"][key]))
    timeline = Table("v", "at", "trigger", "to", box=None)
    for step in p["timeline"]:
        timeline.add_row(str(step["version"]), step["at"][:19], step["trigger"], step["dest"])
    nxt = Table("next trigger", "who may fire it", box=None)
    for trigger, roles in p["next"].items():
        nxt.add_row(trigger, ", ".join(roles))
    console.print(Panel(Group(status, facts), title=str(p["id"]), expand=False))
    console.print(Panel(timeline, title="stage timeline", expand=False))
    console.print(Panel(nxt if p["next"] else "final state: nothing more can happen",
                        title="what may happen next", expand=False))


def render_history(console: Console, entries: Sequence[HistoryEntry]) -> None:
    """A readable timeline."""
    table = Table("v", "when (UTC)", "who", "role", "trigger", "from -> to", "reason")
    for e in entries:
        table.add_row(str(e.version), e.at.strftime("%Y-%m-%d %H:%M"), e.actor, e.role,
                      e.trigger, f"{e.source or '(start)'} -> {e.dest}", e.reason or "")
    console.print(table)


def render_allowed(console: Console, reports: Sequence[AllowedReport]) -> None:
    """Per actor: allowed triggers, triggers needing a payload, refused ones and why."""
    for r in reports:
        table = Table("trigger", "verdict", "why", title=f"{r.actor.role} in state {r.state}",
                      title_justify="left")
        for t in r.allowed:
            table.add_row(t, "[green]allowed[/green]", "")
        for t in r.needs_payload:
            table.add_row(t, "[yellow]allowed with payload[/yellow]",
                          "role and state allow it; guards check the payload")
        for ref in r.refused:
            if ref.code != "transition_not_allowed":
                table.add_row(ref.trigger, f"[red]{ref.code}[/red]", ref.reason)
        console.print(table)
