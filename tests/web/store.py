"""A small demo store on a real SQLite file, shared by the route and browser tests.

Built once per session through the demo's own commands (``socieux demo``'s loader), then
sealed with a signing key and given one hook subscriber, so every console page has
something to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine import Engine
from engine.cli.demos import load_demo
from engine.cli.outputs import write_key_pair

REQUESTS = 24
"""Requests in the demo store (the demo spreads them from 2014 to today)."""


@dataclass(frozen=True)
class DemoStore:
    """Where the store is, and the public key its seal was signed with."""

    url: str
    public_key: str


def build_demo_store(folder: Path) -> DemoStore:
    """Load the demo portfolio into ``folder/console.db``, seal it (signed), add a hook."""
    url = f"sqlite:///{folder / 'console.db'}"
    session = load_demo(None).open(url)
    try:
        session.run(seed=1, requests=REQUESTS, progress=None)
    finally:
        session.close()
    public = write_key_pair(str(folder / "seal.key"))
    with Engine.open(url) as engine:
        engine.seal(key=folder / "seal.key")
        engine.subscribe(lambda _event: None, name="mailer", background=False)
        engine.drain_hooks()
    return DemoStore(url, public)
