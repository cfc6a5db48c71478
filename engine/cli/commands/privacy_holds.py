"""``socieux privacy legal-hold|lift-hold|holds``: the legal-hold register, holds on data
subjects and requests placed before (or without) any erasure request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.console import handles_errors, state_of, table
from engine.cli.inputs import parse_actor

if TYPE_CHECKING:
    from engine.cli.console import CliState
    from engine.privacy.holds import LegalHold

__all__ = ["COMMANDS"]

Ref = Annotated[str, typer.Argument(help="The hold's reference, e.g. OLAF-2026-17.")]
As = Annotated[str, typer.Option("--as", help="ROLE:ACTOR, e.g. auditor:a-1.")]
Reason = Annotated[str, typer.Option(help="Why (recorded in the register).")]


def _show(st: CliState, holds: list[LegalHold], empty: str) -> None:
    def render() -> None:
        if not holds:
            st.console.print(empty, markup=False)
            return
        out = table("hold", "subjects", "requests")
        for h in holds:
            out.add_row(h.hold, ", ".join(h.subjects), ", ".join(r[:8] for r in h.requests))
        st.console.print(out)

    st.out([h.model_dump(mode="json") for h in holds], render)


@handles_errors
def legal_hold(
    ctx: typer.Context,
    ref: Ref,
    actor: As,
    reason: Reason,
    subject: Annotated[
        list[str] | None, typer.Option("--subject", help="A subject's pseudonym (repeat).")
    ] = None,
    request: Annotated[
        list[str] | None, typer.Option("--request", help="A request's id or prefix (repeat).")
    ] = None,
) -> None:
    """Place a legal hold on subjects and/or requests: their erasures are deferred while
    it is open (an audit, appeal, litigation or OLAF investigation)."""
    st = state_of(ctx)
    placed = st.engine().place_legal_hold(
        ref, subjects=subject or [], requests=request or [], actor=parse_actor(actor),
        reason=reason,
    )  # fmt: skip
    _show(st, [placed], "")


@handles_errors
def lift_hold(ctx: typer.Context, ref: Ref, actor: As, reason: Reason) -> None:
    """Lift a legal hold from the register; the erasures it deferred run when due."""
    st = state_of(ctx)
    _show(st, [st.engine().release_legal_hold(ref, actor=parse_actor(actor), reason=reason)], "")


@handles_errors
def holds(ctx: typer.Context) -> None:
    """The open legal holds of the register."""
    st = state_of(ctx)
    _show(st, st.engine().legal_holds(), "no legal hold is open")


COMMANDS = (
    ("legal-hold", legal_hold,
     "socieux privacy legal-hold OLAF-2026-17 --request 3f2a --subject expert:E-104 "
     "--as auditor:a-1 --reason 'OLAF investigation opened'"),
    ("lift-hold", lift_hold,
     "socieux privacy lift-hold OLAF-2026-17 --as auditor:a-1 --reason 'case closed'"),
    ("holds", holds, "socieux privacy holds --json"),
)  # fmt: skip
"""The register's commands: (name, function, example)."""
