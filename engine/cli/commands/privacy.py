"""``socieux privacy ...``: a data subject's status, erasure (request, approve, or both in
``forget``), legal holds, due deferred erasures, and KEK rotation. Subjects are pseudonyms
(``expert:E-104``, ``contact:<request id>``): no command takes or prints a name."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.console import handles_errors, plural, state_of, table, when
from engine.cli.examples import example
from engine.cli.inputs import parse_actor

if TYPE_CHECKING:
    from engine.cli.console import CliState
    from engine.privacy import SubjectStatus

__all__ = ["build"]

Subject = Annotated[str, typer.Argument(help="The subject's pseudonym, e.g. expert:E-104.")]
As = Annotated[str, typer.Option("--as", help="ROLE:ACTOR, e.g. privacy_officer:dpo-1.")]
Reason = Annotated[str, typer.Option(help="Why (recorded on the privacy stream).")]
Basis = Annotated[str, typer.Option("--legal-basis", help="e.g. 'GDPR Art. 17(1)(a)'.")]
Hold = Annotated[str, typer.Option("--hold", help="The hold's reference, e.g. OLAF-2025-17.")]


def _show(st: CliState, statuses: list[SubjectStatus], empty: str) -> None:
    def render() -> None:
        if not statuses:
            st.console.print(empty, markup=False)
            return
        out = table("subject", "status", "erasure", "state", "requests", "open", "due", "holds")
        for s in statuses:
            out.add_row(
                s.subject, s.status, (s.erasure or "")[:8], s.state or "", str(s.requests),
                str(s.open_requests), when(s.due_at) if s.due_at else "", ", ".join(s.holds),
            )  # fmt: skip
        st.console.print(out)

    st.out([s.model_dump(mode="json") for s in statuses], render)


@handles_errors
def subject(ctx: typer.Context, name: Subject) -> None:
    """Where a subject stands: live, restricted or erased; the erasure; retention; holds."""
    st = state_of(ctx)
    _show(st, [st.engine().subject(name)], "")


@handles_errors
def request_erasure(
    ctx: typer.Context, name: Subject, actor: As, reason: Reason, legal_basis: Basis
) -> None:
    """Record a request to erase a subject (another officer approves it)."""
    st = state_of(ctx)
    status = st.engine().request_erasure(
        name, actor=parse_actor(actor), reason=reason, legal_basis=legal_basis
    )
    _show(st, [status], "")


@handles_errors
def approve_erasure(ctx: typer.Context, name: Subject, actor: As, reason: Reason) -> None:
    """Approve a requested erasure (not its requester): carried out if retention is over,
    else deferred with the data restricted."""
    st = state_of(ctx)
    _show(st, [st.engine().approve_erasure(name, actor=parse_actor(actor), reason=reason)], "")


@handles_errors
def forget(
    ctx: typer.Context,
    name: Subject,
    actor: As,
    approver: Annotated[str, typer.Option("--approved-by", help="ROLE:ACTOR of the approver.")],
    reason: Reason,
    legal_basis: Basis,
) -> None:
    """Request and approve (two people) a subject's erasure: the subject's keys are
    destroyed when retention allows; ``SubjectErased`` is recorded on the privacy stream."""
    st = state_of(ctx)
    status = st.engine().forget(
        name, actor=parse_actor(actor), approver=parse_actor(approver), reason=reason,
        legal_basis=legal_basis,
    )  # fmt: skip
    _show(st, [status], "")


@handles_errors
def hold(ctx: typer.Context, name: Subject, actor: As, reason: Reason, ref: Hold) -> None:
    """Place a legal hold on a subject (on their pending erasure, or in the register)."""
    st = state_of(ctx)
    _show(st, [st.engine().place_hold(name, actor=parse_actor(actor), reason=reason, hold=ref)], "")


@handles_errors
def release(ctx: typer.Context, name: Subject, actor: As, reason: Reason, ref: Hold) -> None:
    """Lift a legal hold from a subject (placed on them alone)."""
    st = state_of(ctx)
    engine = st.engine()
    _show(st, [engine.release_hold(name, actor=parse_actor(actor), reason=reason, hold=ref)], "")


@handles_errors
def due(
    ctx: typer.Context,
    run: Annotated[bool, typer.Option("--run", help="Carry them out (needs --as).")] = False,
    actor: Annotated[str | None, typer.Option("--as", help="ROLE:ACTOR for --run.")] = None,
) -> None:
    """Deferred erasures whose retention is over and that no hold blocks (``--run``: carry
    them out)."""
    st = state_of(ctx)
    engine = st.engine()
    if run:
        if actor is None:
            from engine.cli.console import fail

            raise fail("invalid_argument", "--run needs --as ROLE:ACTOR", 2)
        done = engine.run_due_erasures(actor=parse_actor(actor))
        _show(st, done, "no erasure is due")
        return
    _show(st, engine.erasures_due(), "no erasure is due")


@handles_errors
def export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", help="The JSON-lines file.")],
    actor: As,
    reason: Reason,
    instance: Annotated[
        list[str] | None, typer.Option("--instance", help="Only these (ids or prefixes).")
    ] = None,
) -> None:
    """Write personal fields in clear (one JSON line each), recorded first as an access on
    the privacy stream; ``socieux audit export`` stays encrypted and verifiable."""
    st = state_of(ctx)
    buffer = io.StringIO()  # the file is written only once the access is recorded
    count = st.engine().export_personal_data(
        buffer, actor=parse_actor(actor), reason=reason, instances=instance
    )
    output.write_text(buffer.getvalue(), encoding="utf-8")
    st.out(
        {"fields": count, "output": str(output)},
        lambda: st.console.print(f"{plural(count, 'personal field')} written to {output}",
                                 markup=False),
    )  # fmt: skip


@handles_errors
def rotate_kek(
    ctx: typer.Context,
    new_key_file: Annotated[Path, typer.Argument(help="The new KEK's file (64 hex digits).")],
) -> None:
    """Re-wrap every live data key with a new key-encryption key; then point
    SOCIEUX_KEY_FILE at the new file and destroy the old one."""
    st = state_of(ctx)
    count = st.engine().rotate_kek(new_key_file)
    st.out(
        {"rewrapped": count, "key_file": str(new_key_file)},
        lambda: st.console.print(
            f"{plural(count, 'data key')} re-wrapped with {new_key_file}", markup=False
        ),
    )


def build() -> typer.Typer:
    """The ``privacy`` command group."""
    from engine.cli.commands.privacy_holds import COMMANDS as REGISTER_COMMANDS

    group = typer.Typer(no_args_is_help=True, epilog=example("socieux privacy due"))
    forget_ex = (
        "socieux privacy forget expert:E-104 --as socieux_team:t-1 "
        "--approved-by privacy_officer:dpo-1 --reason 'asked' --legal-basis 'GDPR Art. 17'"
    )
    for name, func, ex in (
        ("subject", subject, "socieux privacy subject expert:E-104 --json"),
        ("forget", forget, forget_ex),
        ("request-erasure", request_erasure,
         "socieux privacy request-erasure expert:E-104 --as socieux_team:t-1 --reason asked "
         "--legal-basis 'GDPR Art. 17'"),
        ("approve-erasure", approve_erasure,
         "socieux privacy approve-erasure expert:E-104 --as privacy_officer:dpo-1 --reason ok"),
        ("hold", hold,
         "socieux privacy hold expert:E-104 --as auditor:a-1 --reason audit --hold OLAF-1"),
        ("release", release,
         "socieux privacy release expert:E-104 --as auditor:a-1 --reason closed --hold OLAF-1"),
        ("due", due, "socieux privacy due --run --as privacy_officer:dpo-1"),
        ("export", export,
         "socieux privacy export -o personal.jsonl --as auditor:a-1 --reason 'DSAR 2026-4'"),
        ("rotate-kek", rotate_kek, "socieux privacy rotate-kek /etc/socieux/kek-2026.key"),
        *REGISTER_COMMANDS,
    ):  # fmt: skip
        group.command(name, epilog=example(ex))(func)
    return group
