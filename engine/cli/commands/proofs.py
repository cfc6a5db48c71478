"""``socieux audit head | heads | prove | consistency``: signed tree heads, proof bundles
and consistency proofs (docs/audit.md). ``verify --bundle`` and ``--against`` live with
``verify`` in :mod:`engine.cli.commands.audit`, which registers these commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.console import CliState, handles_errors, plural, printable, state_of, table, when
from engine.cli.inputs import export_file, key_file
from engine.errors import IntegrityViolation, InvalidArgument

if TYPE_CHECKING:
    from engine.audit.proofs import BundleSummary

__all__ = ["consistency", "head", "heads", "prove"]


@handles_errors
def head(
    ctx: typer.Context,
    key: Annotated[
        str | None, typer.Option("--key", help="Ed25519 private key (PEM) to sign with.")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild the stored Merkle tree from the log.")
    ] = False,
) -> None:
    """Record a signed tree head: the Merkle tree's size, root and time."""
    st = state_of(ctx)
    signing_key = key_file(key, "--key") if key is not None else None
    with st.log_engine() as engine:
        made = engine.head(key=signing_key, rebuild=rebuild)
    st.out(
        made.model_dump(mode="json"),
        lambda: st.console.print(
            f"tree head #{made.seq}: {plural(made.size, 'event')}, root {made.root}"
            + (f", signed by {made.public_key[:16]}" if made.public_key else "")
            + f"\n{made.witness_line()}",
            markup=False,
        ),
    )


@handles_errors
def heads(
    ctx: typer.Context,
    witness: Annotated[
        bool, typer.Option("--witness", help="One line a head, to publish elsewhere.")
    ] = False,
) -> None:
    """List the recorded tree heads (or print them in the witness format)."""
    st = state_of(ctx)
    with st.log_engine() as engine:
        found = engine.heads()
    if witness:
        for h in found:
            typer.echo(h.witness_line())
        return

    def render() -> None:
        rows = table("head", "size", "made at", "root", "signed by")
        for h in found:
            rows.add_row(f"#{h.seq}", str(h.size), when(h.at), h.root[:16], h.public_key or "")
        st.console.print(rows if found else "no tree heads yet (socieux audit head records one)")

    st.out([h.model_dump(mode="json") for h in found], render)


@handles_errors
def prove(
    ctx: typer.Context,
    instance: Annotated[str, typer.Argument(help="The request (id or unique prefix).")],
    output: Annotated[
        str | None, typer.Option("-o", "--output", help="File (default stdout).")
    ] = None,
    at_head: Annotated[
        int | None, typer.Option("--head", help="Against this head (default: the latest).")
    ] = None,
) -> None:
    """Write the proof bundle of one request: its events, their definitions, and each
    event's inclusion proof against a tree head (socieux audit verify --bundle checks it).
    A file name ending in .gz is written gzip-compressed (both verifiers read either)."""
    st = state_of(ctx)
    if output is not None and output.endswith(".gz"):
        summary, size = _prove_gzip(st, instance, output, at_head)
    else:
        from engine.cli.outputs import output_file

        with st.log_engine() as engine, output_file(output) as out:
            summary = engine.prove(instance, out, head=at_head)
        size = summary.bytes
    if output is not None:
        gz = f", {size} gzip-compressed" if size != summary.bytes else ""
        st.out(
            {**summary.model_dump(mode="json"), "file_bytes": size},
            lambda: st.console.print(
                f"wrote the proof bundle of {summary.instance} ({plural(summary.events, 'event')}"
                f", tree head #{summary.head.seq}, {summary.bytes} bytes{gz}) to "
                f"{printable(output)}",
                markup=False,
            ),
        )


def _prove_gzip(
    st: CliState, instance: str, output: str, at_head: int | None
) -> tuple[BundleSummary, int]:
    import gzip
    import io

    from engine.cli.outputs import write_bytes

    buffer = io.StringIO()
    with st.log_engine() as engine:
        summary = engine.prove(instance, buffer, head=at_head)
    data = gzip.compress(buffer.getvalue().encode("utf-8"), mtime=0)
    write_bytes(output, data)
    return summary, len(data)


def _head_arg(text: str) -> int | str:
    """A head number (``3`` or ``#3``), a witness line, or a witness file (its last line)."""
    from pathlib import Path

    number = text.removeprefix("#")
    if number.isdigit() and len(number) < 19:
        return int(number)
    if " " in text.strip():
        return text
    lines = export_file(text, "HEAD").read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not kept:
        raise InvalidArgument(f"{printable(str(Path(text)))} holds no witness line")
    return kept[-1]


@handles_errors
def consistency(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="Older head: number, witness line or file.")],
    new: Annotated[str, typer.Argument(help="Newer head: number, witness line or file.")],
) -> None:
    """Prove that the log between two tree heads only grew (RFC 9162 consistency proof)."""
    st = state_of(ctx)
    with st.log_engine() as engine:
        proof = engine.consistency(_head_arg(old), _head_arg(new))

    def render() -> None:
        for h in proof.proof:
            st.console.print(h)
        verdict = "consistent: the log only grew" if proof.ok else "NOT consistent"
        st.console.print(
            f"{proof.old_size} -> {proof.new_size} events, proof of {len(proof.proof)} "
            f"hash(es): {verdict}"
        )

    st.out(proof.model_dump(mode="json"), render)
    if not proof.ok:
        raise IntegrityViolation(
            f"head of {proof.old_size} events (root {proof.old_root[:16]}) is not a prefix of "
            f"the head of {proof.new_size} (root {proof.new_root[:16]}): history was rewritten"
        )
