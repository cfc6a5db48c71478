"""``socieux workflows list | show NAME | versions NAME | diff NAME V1 V2 | example``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from engine.cli.console import ARROW, handles_errors, state_of, table
from engine.cli.examples import example
from engine.errors import InvalidArgument

__all__ = ["build"]


class Format(StrEnum):
    """Output formats of ``workflows show``."""

    table = "table"
    mermaid = "mermaid"
    dot = "dot"
    json = "json"


@handles_errors
def list_workflows(ctx: typer.Context) -> None:
    """List the installed workflow definitions."""
    st = state_of(ctx)
    rows: list[dict[str, Any]] = [
        {
            "name": c.name,
            "version": c.definition.version,
            "title": c.definition.title,
            "hash": c.hash,
            "states": len(c.definition.states),
            "transitions": len(c.definition.transitions),
        }
        for c in st.engine().registry.all()
    ]

    def render() -> None:
        out = table("name", "version", "title", "states", "transitions", "hash")
        for r in rows:
            out.add_row(
                r["name"],
                str(r["version"]),
                r["title"],
                str(r["states"]),
                str(r["transitions"]),
                r["hash"][:12],
            )
        st.console.print(out)

    st.out(rows, render)


@handles_errors
def show_workflow(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    version: Annotated[int | None, typer.Option(help="Definition version.")] = None,
) -> None:
    """Show a workflow definition as a table, Mermaid, DOT or JSON."""
    from engine.definition.content import to_dict, to_json
    from engine.definition.diagrams import to_dot, to_mermaid

    st = state_of(ctx)
    compiled = st.engine().registry.get(name, version)
    defn = compiled.definition
    if st.json or fmt is Format.json:
        typer.echo(to_json(defn))
        return
    if fmt is Format.mermaid:
        typer.echo(to_mermaid(defn))
        return
    if fmt is Format.dot:
        typer.echo(to_dot(defn), nl=False)
        return
    data = to_dict(defn)
    out = table("trigger", "from", "to", "roles", "guards", title=f"{name} v{defn.version}")
    for t in data["transitions"]:
        dest = t["dest"] or "(same state)"
        out.add_row(
            t["trigger"],
            ", ".join(t["source"]) or "(start)",
            dest,
            ", ".join(t["roles"]),
            ", ".join(t["guards"]),
        )
    st.console.print(out)
    st.console.print(f"content hash {compiled.hash}")


@handles_errors
def example_payload(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    trigger: Annotated[str, typer.Argument(help="Trigger whose payload to sketch.")],
    version: Annotated[int | None, typer.Option(help="Definition version.")] = None,
) -> None:
    """Print a JSON payload template for TRIGGER: its required fields with placeholders,
    to fill in and pass to --data."""
    import json

    from engine.cli.template import template

    defn = state_of(ctx).engine().registry.get(name, version).definition
    found = [t for t in defn.transitions if t.trigger == trigger]
    if not found:
        known = ", ".join(sorted({t.trigger for t in defn.transitions}))
        raise InvalidArgument(f"{name} has no trigger {trigger!r} (triggers: {known})")
    payload = template(found[0].payload.model_json_schema())
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))


@handles_errors
def versions(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Workflow name.")]
) -> None:
    """Every installed version of a workflow: its hash, where its instances may migrate from,
    and which version new instances start on."""
    st = state_of(ctx)
    found = st.engine().registry.versions(name)
    latest = found[-1].definition.version
    rows: list[dict[str, Any]] = [
        {
            "version": c.definition.version,
            "hash": c.hash,
            "title": c.definition.title,
            "latest": c.definition.version == latest,
            "migrates_from": [m.from_version for m in c.definition.migrations],
            "states": len(c.definition.states),
            "transitions": len(c.definition.transitions),
        }
        for c in found
    ]

    def render() -> None:
        out = table("version", "hash", "states", "transitions", "migrates from", "new instances")
        for r in rows:
            froms = ", ".join(f"v{v}" for v in r["migrates_from"]) or "-"
            out.add_row(str(r["version"]), r["hash"][:12], str(r["states"]),
                        str(r["transitions"]), froms, "yes" if r["latest"] else "")  # fmt: skip
        st.console.print(out)

    st.out(rows, render)


@handles_errors
def diff_versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    old: Annotated[int, typer.Argument(help="The older version.")],
    new: Annotated[int, typer.Argument(help="The newer version.")],
) -> None:
    """What changed from version OLD to NEW: states, transitions, roles, guards, payload
    fields, settings and migrations."""
    from rich.text import Text

    st = state_of(ctx)
    d = st.engine().compare_versions(name, old, new)

    def render() -> None:
        st.console.print(f"{name} v{old} ({d.old_hash[:12]}) {ARROW} v{new} ({d.new_hash[:12]})")
        out = table("part", "name", "change", "detail")
        for c in d.changes:
            out.add_row(*(Text(x) for x in (c.part, c.name, c.kind, c.detail)))
        st.console.print(out if d.changes else "no differences")

    st.out(d.model_dump(mode="json"), render)


def build() -> typer.Typer:
    """The ``workflows`` command group."""
    group = typer.Typer(no_args_is_help=True, epilog=example("socieux workflows list"))
    group.command("list", epilog=example("socieux workflows list"))(list_workflows)
    group.command("show", epilog=example("socieux workflows show WORKFLOW --format mermaid"))(
        show_workflow
    )
    group.command("versions", epilog=example("socieux workflows versions WORKFLOW"))(versions)
    group.command("diff", epilog=example("socieux workflows diff WORKFLOW 1 2"))(diff_versions)
    group.command(
        "example",
        epilog=example(
            "socieux workflows example WORKFLOW TRIGGER > request.json",
            "socieux submit WORKFLOW --as ROLE:ACTOR --data request.json",
        ),
    )(example_payload)
    return group
