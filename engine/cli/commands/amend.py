"""``correct``, ``approve-correction``, ``evidence attach``, ``note`` and ``audit evidence
check``: amendments of one instance, through the façade (``docs/audit.md``)."""

from __future__ import annotations

import json
import mimetypes
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

import typer

from engine.cli.console import OutputFormat, handles_errors, state_of, table
from engine.cli.examples import example
from engine.cli.inputs import export_file, parse_actor
from engine.errors import InvalidArgument

__all__ = ["ReportKind", "build_evidence", "register", "register_audit"]

AsOpt = Annotated[str, typer.Option("--as", help="ROLE:ACTOR, e.g. socieux_team:t-1.")]
IdArg = Annotated[str, typer.Argument(help="Instance id or a unique prefix of it.")]


def _changes(pairs: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs; VALUE is JSON when it parses as JSON, else a string."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InvalidArgument(f"--set: expected FIELD=VALUE, got {pair!r}")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def _printed(st: Any, view: Any, what: str) -> None:
    line = f"{view.id}  {what} (version {view.version}); state {view.state}"
    st.out(view.model_dump(mode="json"), lambda: st.console.print(line, markup=False))


@handles_errors
def correct(
    ctx: typer.Context,
    instance: IdArg,
    version: Annotated[int, typer.Argument(help="The version of the event to correct.")],
    actor: AsOpt,
    changes: Annotated[list[str], typer.Option("--set", help="FIELD=VALUE (JSON or text).")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
) -> None:
    """Correct payload fields of an earlier event (a new event; the old one stays)."""
    st = state_of(ctx)
    fields, who = _changes(changes), parse_actor(actor)
    view = st.engine().correct(instance, version, fields, reason=reason, actor=who)
    record = view.corrections.get(str(view.version), {})
    what = f"correction of v{version} recorded, {record.get('status', 'applied')}"
    _printed(st, view, what)


@handles_errors
def approve_correction(
    ctx: typer.Context,
    instance: IdArg,
    correction: Annotated[int, typer.Argument(help="The correction's version.")],
    actor: AsOpt,
    reason: Annotated[str | None, typer.Option(help="Why (recorded in the audit).")] = None,
) -> None:
    """Approve a pending correction (not its requester): it takes effect."""
    st = state_of(ctx)
    view = st.engine().approve_correction(
        instance, correction, actor=parse_actor(actor), reason=reason
    )
    _printed(st, view, f"correction at v{correction} approved")


@handles_errors
def note(
    ctx: typer.Context,
    instance: IdArg,
    text: Annotated[str, typer.Argument(help="The note.")],
    actor: AsOpt,
    visibility: Annotated[str, typer.Option(help="internal or public.")] = "internal",
) -> None:
    """Add a note to an instance's history."""
    st = state_of(ctx)
    view = st.engine().note(instance, text, visibility=visibility, actor=parse_actor(actor))
    _printed(st, view, "note recorded")


@handles_errors
def attach(
    ctx: typer.Context,
    instance: IdArg,
    file: Annotated[str, typer.Argument(help="The document (fingerprinted; not stored).")],
    actor: AsOpt,
    kind: Annotated[str, typer.Option("--type", help="agenda, invoice, activity_report...")],
    title: Annotated[str, typer.Option(help="The document's title.")],
    effective_date: Annotated[
        str, typer.Option("--effective-date", help="ISO date the document is about.")
    ],
    media_type: Annotated[
        str | None, typer.Option("--media-type", help="Default: guessed from the name.")
    ] = None,
    reference: Annotated[str, typer.Option(help="The reference a payload cites.")] = "",
    validated: Annotated[bool, typer.Option(help="The document was validated.")] = False,
) -> None:
    """Record a supporting document by its sha256, size and media type."""
    from engine.corrections.evidence import file_fingerprint

    st = state_of(ctx)
    who = parse_actor(actor)
    try:
        day = date.fromisoformat(effective_date)
    except ValueError:
        raise InvalidArgument(f"--effective-date: not an ISO date: {effective_date!r}") from None
    path = export_file(file, "FILE")
    sha, size = file_fingerprint(path)
    media = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    view = st.engine().attach_evidence(
        instance, type=kind, title=title, sha256=sha, size=size, media_type=media,
        effective_date=day, reference=reference, validated=validated, actor=who,
    )  # fmt: skip
    _printed(st, view, f"evidence {sha[:16]}… recorded")


@handles_errors
def check(
    ctx: typer.Context,
    instance: IdArg,
    files: Annotated[list[str], typer.Argument(help="Files to check.")],
) -> None:
    """Which recorded evidence each file matches; exit 6 if one matches none."""
    st = state_of(ctx)
    paths = [export_file(f, "FILE") for f in files]
    matches = st.engine().check_evidence(instance, paths)

    def render() -> None:
        from rich.text import Text

        out = table("file", "sha256", "bytes", "matches")
        for m in matches:
            hits = ", ".join(f"v{v} {t}" for v, t in zip(m.matches, m.titles, strict=True))
            out.add_row(*(Text(c) for c in (m.file, m.sha256[:16], str(m.size),
                                            hits or "no recorded evidence")))  # fmt: skip
        st.console.print(out)

    st.out([m.model_dump(mode="json") for m in matches], render)
    if any(not m.matches for m in matches):
        raise typer.Exit(6)


def build_evidence() -> typer.Typer:
    """The ``evidence`` group (``attach``)."""
    group = typer.Typer(no_args_is_help=True, help="Supporting documents, by fingerprint.")
    group.command(epilog=example(
        "socieux evidence attach 1051 report.pdf --type activity_report --title 'Report' "
        "--effective-date 2024-05-02 --as socieux_team:t-1"))(attach)  # fmt: skip
    return group


def register(app: typer.Typer) -> None:
    """Add ``correct``, ``approve-correction``, ``note`` and ``evidence`` to the root app."""
    app.command(epilog=example(
        "socieux correct 1051 2 --set days_worked=4 --reason 'typo' --as socieux_team:t-1"
    ))(correct)  # fmt: skip
    app.command("approve-correction", epilog=example(
        "socieux approve-correction 1051 7 --as socieux_team:t-2"))(approve_correction)  # fmt: skip
    app.command(epilog=example("socieux note 1051 'Called the partner' --as socieux_team:t-1"))(
        note
    )
    app.add_typer(build_evidence(), name="evidence")


def register_audit(audit: typer.Typer) -> None:
    """Add ``audit evidence check`` and ``audit report`` to the ``audit`` group."""
    shown = example("socieux audit evidence check 1051 report.pdf")
    group = typer.Typer(
        no_args_is_help=True, help="Check files against recorded evidence.", epilog=shown
    )
    group.command(epilog=shown)(check)
    audit.add_typer(group, name="evidence")
    audit.command("report", epilog=example(
        "socieux audit report late --late-after-days 30 --format csv",
        "socieux audit report days --json",
    ))(audit_report)  # fmt: skip


class ReportKind(StrEnum):
    """The auditor reports."""

    late = "late"
    window = "window"
    corrections = "corrections"
    evidence = "evidence"
    days = "days"


@handles_errors
def audit_report(
    ctx: typer.Context,
    kind: Annotated[ReportKind, typer.Argument(help="late, window, corrections, evidence, days.")],
    instance: Annotated[
        str | None, typer.Option("--instance", help="Only this instance (id or prefix).")
    ] = None,
    late_after_days: Annotated[
        float | None, typer.Option("--late-after-days", help="late: the threshold in days.")
    ] = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="table, json or csv (default table; json with --json)."),
    ] = None,
) -> None:
    """An auditor report: late entries, activities outside their window, corrections and
    their approvers, missing evidence, or expert-days planned vs worked."""
    st = state_of(ctx)
    rep = st.engine().audit_report(kind.value, instance=instance, late_after_days=late_after_days)

    def render() -> None:
        from rich.text import Text

        if rep.rows:
            out = table(*rep.rows[0])
            for row in rep.rows:
                out.add_row(*(Text("" if v is None else str(v)) for v in row.values()))
            st.console.print(out)
        totals = ", ".join(f"{k} {v:g}" for k, v in rep.totals.items())
        st.console.print(f"{kind.value}: {totals}", markup=False, highlight=False)

    st.out(rep.model_dump(mode="json"), render, fmt, rows=lambda: list(rep.rows))
