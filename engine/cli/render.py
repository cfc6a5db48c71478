"""Rich rendering of one instance (``show``), its history and ``next`` reports.

Nothing here knows a workflow: the key facts are labelled by the instance's definition
(its ``display`` spec), or are the data's first scalar fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from engine.cli.amendment_text import amendment_line
from engine.cli.console import ARROW, bounded, plural, table, when
from engine.instance.views import AllowedReport, HistoryEntry

if TYPE_CHECKING:
    from engine.definition.model import DisplayFact, DisplaySpec

__all__ = ["key_facts", "render_allowed", "render_history", "render_instance"]


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value != ""


def _record(fact: DisplayFact, value: Any) -> str:
    """A mapping as ``first (aside) · part · part`` (empty parts left out); else as it is."""
    if not isinstance(value, dict) or not fact.parts:
        return str(value)
    first, *rest = fact.parts
    head = str(value.get(first, ""))
    if fact.aside and value.get(fact.aside):
        head += f" ({value[fact.aside]})"
    return " · ".join([head, *(str(value[k]) for k in rest if value.get(k))])


def _count(fact: DisplayFact, items: list[Any]) -> str:
    """How many items; with ``total``, the sum of that integer key too (``N (M unit)``)."""
    text = str(len(items))
    if fact.total:
        amounts = [i.get(fact.total) for i in items if isinstance(i, dict)]
        if amounts and all(isinstance(a, int) for a in amounts):
            total = sum(a for a in amounts if isinstance(a, int))
            text += f" ({total} {fact.unit})" if fact.unit else f" ({total})"
    return text


def _fact(fact: DisplayFact, value: Any) -> str | None:
    """One fact's text, or ``None`` when the data has nothing to show for it."""
    if fact.kind == "count":
        return _count(fact, value) if isinstance(value, list) and value else None
    if value in (None, "", [], {}):
        return None
    if fact.kind == "record":
        return _record(fact, value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def key_facts(data: dict[str, Any], display: DisplaySpec | None = None) -> list[tuple[str, str]]:
    """The instance's key facts as (label, text), as its workflow's ``display`` labels
    them; when it labels none of them, the first few scalar fields of the data."""
    facts: list[tuple[str, str]] = []
    for fact in display.facts if display is not None else ():
        text = _fact(fact, data.get(fact.key))
        if text is not None:
            facts.append((fact.title, text))
    if not facts:
        facts = [(k, str(v)) for k, v in data.items() if _scalar(v)][:10]
    return facts


def render_instance(
    console: Console, p: dict[str, Any], display: DisplaySpec | None = None
) -> None:
    """Current state and key facts (labelled by ``display``), the stage timeline, what may
    happen next, warnings."""
    console.print(_summary_panel(p, display, expand=bounded(console)))
    _render_stages(console, p)
    for step in p.get("timeline", ()):
        if step.get("effective_at"):
            console.print(Text(f"v{step['version']} {step['trigger']}: effective "
                               f"{step['effective_at']}, recorded {step['at']}"))  # fmt: skip
    _render_next(console, p)


def _summary_panel(p: dict[str, Any], display: DisplaySpec | None, *, expand: bool) -> Panel:
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
    for label, text in key_facts(p["data"], display):
        summary.add_row(label, text)
    parts: list[Any] = [head, Text(standing, style="dim")]
    parts += [
        Text(f"⚠ {w}", style="bold red" if w.startswith("overdue") else "yellow")
        for w in p["warnings"]
    ]
    parts += [Text(""), summary]
    return Panel(
        Group(*parts),
        title=f"[bold]{p['id']}[/bold]",
        title_align="left",
        subtitle=f"{p['workflow']} v{p['definition_version']}",
        subtitle_align="right",
        expand=expand,
    )


def _render_stages(console: Console, p: dict[str, Any]) -> None:
    stages = table(
        "stage",
        "entered",
        "left",
        "days",
        "SLA",
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


def _render_next(console: Console, p: dict[str, Any]) -> None:
    if not p["next"]:
        console.print(Text("final state: nothing more can happen", style="dim"))
        return
    moves = table(
        "trigger",
        "to",
        "who may fire it",
        title="what may happen next",
        title_justify="left",
        title_style="bold",
    )
    for n in p["next"]:
        moves.add_row(n["trigger"], n["to"], ", ".join(n["roles"]))
    console.print(moves)


def render_history(console: Console, entries: Sequence[HistoryEntry]) -> None:
    """A readable timeline: when, version, trigger and move, who in which role, why, guards."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(overflow="fold")
    for e in entries:
        body = Text.assemble(
            (e.trigger, "bold"),
            "  ",
            (e.source or "(start)", "cyan"),
            f" {ARROW} ",
            (e.dest, "cyan"),
        )
        if not getattr(e, "verified", True):
            body.append("  ⚠ its stored hash does not verify (altered?)", style="bold red")
        body.append(f"\nby {e.actor} as {e.role}")
        if e.effective_at is not None:
            body.append(f"\neffective {when(e.effective_at)} (recorded {when(e.at)})")
        if (amended := amendment_line(e)) is not None:
            body.append(f"\n{amended}")
        if e.reason:
            body.append(f"\nwhy: {e.reason}", style="italic")
        if e.guards:
            body.append("\nguards: ")
            for i, g in enumerate(e.guards):
                body.append(", " if i else "")
                body.append(f"{g.name} {'✓' if g.ok else '✗'}", style="green" if g.ok else "red")
        grid.add_row(when(e.at), f"v{e.version}", body)
    console.print(grid)
    altered = sum(1 for e in entries if not getattr(e, "verified", True))
    console.print(Text(plural(len(entries), "event"), style="dim"))
    if altered:
        console.print(
            Text(
                f"⚠ {plural(altered, 'event')} whose hash does not verify: "
                "run socieux audit verify",
                style="bold red",
            )
        )


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
        verdicts = table("trigger", "verdict", "why")
        for t in r.allowed:
            verdicts.add_row(t, "[green]allowed[/green]", "")
        for t in r.needs_payload:
            verdicts.add_row(
                t,
                "[yellow]allowed with payload[/yellow]",
                "role and state allow it; guards check the payload",
            )
        for ref in r.refused:
            if ref.code not in hidden:
                verdicts.add_row(ref.trigger, f"[red]{ref.code}[/red]", ref.reason)
        if verdicts.row_count:
            console.print(
                Text(f"as {r.actor.role} ({r.actor.id}) in state {r.state}", style="bold")
            )
            console.print(verdicts)
        else:
            idle.append(r.actor.role)
    if idle:
        console.print(Text(f"nothing to do now for: {', '.join(idle)}", style="dim"))
