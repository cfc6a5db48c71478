"""``socieux serve``: the read-only web console (``socieux[web]``) on this machine.

It binds 127.0.0.1 unless told otherwise; any other host needs a token (``--token`` or
``SOCIEUX_CONSOLE_TOKEN``), which every request must then present. See docs/console.md.
"""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.console import handles_errors, state_of
from engine.cli.examples import example
from engine.errors import InvalidArgument

__all__ = ["LOOPBACK", "check_host", "register"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Hosts only this machine can reach: the console needs no token there."""
MIN_TOKEN = 16
"""The shortest token accepted (characters)."""


def check_host(host: str, token: str | None) -> None:
    """Refuse a host other than the loopback without a token, and a short token."""
    if token is not None and len(token) < MIN_TOKEN:
        raise InvalidArgument(f"--token: at least {MIN_TOKEN} characters")
    if token is not None and not (token.isascii() and token.isprintable() and " " not in token):
        # the same rule as engine.web.security.valid_token (not imported: the extra may be absent)
        raise InvalidArgument("--token: printable ASCII without spaces (it travels in headers)")
    if host not in LOOPBACK and token is None:
        raise InvalidArgument(
            f"--host {host}: other machines could reach the console; give --token "
            "(or set SOCIEUX_CONSOLE_TOKEN) to serve it beyond 127.0.0.1"
        )


@handles_errors
def serve(
    ctx: typer.Context,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: the global --db).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="SOCIEUX_CONSOLE_TOKEN",
            help="Token every request must present (needed beyond 127.0.0.1).",
        ),
    ] = None,
) -> None:
    """Serve the read-only web console: portfolio, requests, audit and operations."""
    check_host(host, token)
    try:
        import uvicorn

        from engine.web import create_app
    except ImportError as exc:
        raise InvalidArgument(
            f"the console needs the web extra ({exc.name} is missing): pip install 'socieux[web]'"
        ) from None
    st = state_of(ctx)
    if db is not None:
        st.db = db
    app = create_app(st.engine(), token=token)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"socieux console on http://{shown}:{port}/ (read-only; Ctrl+C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root app."""
    app.command(
        epilog=example(
            "socieux serve --db sqlite:///socieux.db",
            "SOCIEUX_CONSOLE_TOKEN=... socieux serve --host 0.0.0.0",
        )
    )(serve)
