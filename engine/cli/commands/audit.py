"""``socieux audit verify | seal | seals | head | heads | prove | consistency | export |
explain | diff | keygen`` and ``replay``.

Commands that read the whole log (verify, seal, export, replay) open the store without
projections, so a damaged log can still be inspected: nothing is decoded but by them.
``explain`` and ``diff`` (one instance's steps) live in :mod:`engine.cli.commands.steps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.commands.proofs import consistency, head, heads, prove
from engine.cli.commands.steps import diff, explain
from engine.cli.commands.trail import trail
from engine.cli.console import (
    CliState,
    fail,
    handles_errors,
    plural,
    printable,
    state_of,
    table,
    when,
)
from engine.cli.console import progress as progress_bar
from engine.cli.examples import example
from engine.cli.inputs import export_file, key_file, parse_time
from engine.errors import IntegrityViolation, InvalidArgument

if TYPE_CHECKING:
    from engine.audit.report import IntegrityReport

__all__ = ["build", "register"]

KeyOpt = Annotated[
    str | None, typer.Option("--public-key", help="Ed25519 public key of the seals (PEM or hex).")
]


def _render_report(st: CliState, report: IntegrityReport) -> None:
    if report.problems:
        problems = table("kind", "instance", "version", "where", "detail")
        for p in report.problems:
            where = f"line {p.line}" if p.line else f"#{p.position}" if p.position else ""
            problems.add_row(
                p.kind, str(p.instance_id or ""), str(p.version or ""), where, p.detail
            )
        st.console.print(problems)
    signed = report.signatures_checked
    st.console.print(
        f"checked {plural(report.events_checked, 'event')} in "
        f"{plural(report.instances_checked, 'instance')} and "
        f"{plural(report.seals_checked, 'seal')}"
        + (f", {plural(report.heads_checked, 'tree head')}" if report.heads_checked else "")
        + (f", {plural(signed, 'signature')}" if signed else "")
        + f": {'OK' if report.ok else plural(len(report.problems), 'problem')} ({report.source})"
    )


@handles_errors
def verify(
    ctx: typer.Context,
    file: Annotated[str | None, typer.Option("--file", help="Verify an export offline.")] = None,
    bundle: Annotated[
        str | None, typer.Option("--bundle", help="Verify a proof bundle offline.")
    ] = None,
    against: Annotated[
        str | None, typer.Option("--against", help="Check the store against witnessed heads.")
    ] = None,
    public_key: KeyOpt = None,
) -> None:
    """Recompute every hash; check every chain, seal and tree head (of the store, of an
    export, or of a proof bundle)."""
    from engine.facade import Engine

    st = state_of(ctx)
    key = key_file(public_key, "--public-key") if public_key is not None else None
    if file is not None and bundle is not None:
        raise InvalidArgument("give --file or --bundle, not both")
    if (file is not None or bundle is not None) and against is not None:
        raise InvalidArgument("--against checks the store: not with --file or --bundle")
    if file is not None:
        report = Engine.verify_file(export_file(file), public_key=key)
    elif bundle is not None:
        report = Engine.verify_bundle(export_file(bundle, "--bundle"), public_key=key)
    else:
        witness = export_file(against, "--against") if against is not None else None
        with st.log_engine() as engine, progress_bar(st, "verify") as progress:
            report = engine.verify(
                public_key=key, progress=progress, against=witness, command="socieux audit verify"
            )
    st.out(report.model_dump(mode="json"), lambda: _render_report(st, report))
    if not report.ok:
        raise IntegrityViolation(report.summary())


@handles_errors
def seal(
    ctx: typer.Context,
    key: Annotated[
        str | None, typer.Option("--key", help="Ed25519 private key (PEM) to sign with.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Verify the log first.")
    ] = True,
) -> None:
    """Seal the whole log as it is now (verifying it first, unless --no-verify)."""
    st = state_of(ctx)
    signing_key = key_file(key, "--key") if key is not None else None
    with st.log_engine() as engine:
        if check:
            with progress_bar(st, "verify") as progress:
                report = engine.verify(progress=progress, command="socieux audit seal")
            if not report.ok:
                raise IntegrityViolation(f"not sealed: {report.summary()}")
        made = engine.seal(key=signing_key)
    st.out(
        made.model_dump(mode="json"),
        lambda: st.console.print(
            f"seal #{made.seq}: {plural(made.events, 'event')} up to notification {made.position}, "
            f"running hash {made.running_hash[:16]}"
            + (f", signed by {made.public_key[:16]}" if made.public_key else "")
        ),
    )


@handles_errors
def seals(ctx: typer.Context) -> None:
    """List the recorded seals."""
    st = state_of(ctx)
    with st.log_engine() as engine:
        found = engine.seals()

    def render() -> None:
        rows = table("seal", "position", "events", "sealed at", "running hash", "signed by")
        for s in found:
            rows.add_row(
                f"#{s.seq}",
                str(s.position),
                str(s.events),
                when(s.sealed_at),
                s.running_hash[:16],
                s.public_key or "",
            )
        st.console.print(rows if found else "no seals yet (socieux audit seal records one)")

    st.out([s.model_dump(mode="json") for s in found], render)


@handles_errors
def export(
    ctx: typer.Context,
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="File (default stdout).")
    ] = None,
    instance: Annotated[str | None, typer.Option("--instance", help="Only this instance.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this ISO time on.")] = None,
) -> None:
    """Write the log and its seals as JSON Lines (docs/audit.md) for offline verification.

    A file appears only once the export is complete (see :mod:`engine.cli.outputs`)."""
    from engine.cli.outputs import output_file

    st = state_of(ctx)
    at = parse_time(since) if since is not None else None
    with (
        st.log_engine() as engine,
        output_file(output) as out,
        progress_bar(st, "export") as progress,
    ):
        summary = engine.export(out, instance=instance, since=at, progress=progress)
    if output is not None:
        st.out(
            summary.model_dump(mode="json"),
            lambda: st.console.print(
                f"wrote {plural(summary.events, 'event')} and {plural(summary.seals, 'seal')} "
                f"to {printable(output)}",
                markup=False,
            ),
        )


@handles_errors
def keygen(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Private key file to create (and PATH.pub).")],
) -> None:
    """Create an Ed25519 key pair for signing seals (both files appear, or neither)."""
    from engine.cli.outputs import write_key_pair

    st = state_of(ctx)
    public = write_key_pair(path)
    shown = printable(path)
    st.out(
        {"private_key": shown, "public_key_file": f"{shown}.pub", "public_key": public},
        lambda: st.console.print(
            f"wrote {shown} (keep it secret) and {shown}.pub; public key {public}", markup=False
        ),
    )


@handles_errors
def replay(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Rebuild every instance; report failures.")
    ] = False,
) -> None:
    """Rebuild every instance with the definitions installed now (--check)."""
    st = state_of(ctx)
    if not check:
        raise InvalidArgument("replay needs --check (the only mode for now)")
    with st.log_engine() as engine, progress_bar(st, "replay") as progress:
        report = engine.replay_check(progress=lambda n: progress(n, 0))

    def render() -> None:
        for f in report.failures:
            st.console.print(f"{f.instance_id} v{f.version}: {f.kind}: {f.detail}")
        for d in report.definitions:
            name = f"{d.workflow} v{d.version}" if d.workflow else "not installed"
            st.console.print(
                f"definition {d.definition_hash[:12]} ({name}): "
                f"{plural(d.instances, 'instance')}, {plural(d.events, 'event')}, "
                f"{plural(d.failures, 'failure')}"
            )
        st.console.print(
            f"replayed {plural(report.instances_checked, 'instance')} "
            f"({plural(report.events_replayed, 'event')}): "
            f"{'OK' if report.ok else f'{len(report.failures)} cannot be replayed'}"
        )

    st.out(report.model_dump(mode="json"), render)
    if not report.ok:
        first = report.failures[0]
        raise fail(
            "replay_failed",
            f"{plural(len(report.failures), 'instance')} can no longer be "
            f"replayed; first: {first.instance_id} v{first.version}: "
            f"{first.kind}",
            6,
        )


_EXAMPLES = {
    "verify": "socieux audit verify --file export.jsonl --public-key seal.pub",
    "seal": "socieux audit seal --key seal.pem",
    "seals": "socieux --json audit seals",
    "head": "socieux audit head --key seal.pem",
    "heads": "socieux audit heads --witness >> heads.txt",
    "prove": "socieux audit prove 1051239a -o bundle.json",
    "consistency": "socieux audit consistency 1 2",
    "export": "socieux audit export -o export.jsonl --since 2025-01-01",
    "explain": "socieux audit explain 1051239a 4",
    "diff": "socieux audit diff 1051239a --from 2025-05-01 --to 2025-07-01",
    "keygen": "socieux audit keygen seal.pem",
    "trail": "socieux audit trail --actor team-1 --since 2025-01-01 --format csv",
}


def build() -> typer.Typer:
    """The ``audit`` command group."""
    group = typer.Typer(no_args_is_help=True, epilog=example("socieux audit verify"))
    for name, func in (
        ("verify", verify),
        ("seal", seal),
        ("seals", seals),
        ("head", head),
        ("heads", heads),
        ("prove", prove),
        ("consistency", consistency),
        ("export", export),
        ("explain", explain),
        ("diff", diff),
        ("keygen", keygen),
        ("trail", trail),
    ):
        group.command(name, epilog=example(_EXAMPLES[name]))(func)
    return group


def register(app: typer.Typer) -> None:
    """Add ``replay`` to the root app."""
    app.command(epilog=example("socieux replay --check"))(replay)
