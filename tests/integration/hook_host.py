"""A tiny host process for the hook restart test: ``python -m tests.integration.hook_host``.

``fire URL OUTBOX``: records one event, then lets the hook run. The hook writes the
outbox row (its effect, keyed by notification id) and, while the file ``OUTBOX.crash``
exists, the process is SIGKILLed before the handler returns, so the engine never learns
the event was handled. ``drain URL OUTBOX``: a restarted host that only delivers.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from pathlib import Path

from engine import Engine
from engine.hooks.types import HookEvent
from tests.helpers import REQUESTER, submit
from tests.toy import toy_definition


def main(mode: str, url: str, outbox: str) -> None:
    conn = sqlite3.connect(outbox, isolation_level=None, check_same_thread=False)  # the hook thread
    conn.execute("CREATE TABLE IF NOT EXISTS outbox (key INTEGER PRIMARY KEY, trigger TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS deliveries (key INTEGER, pid INTEGER)")
    crash = Path(outbox + ".crash")

    def handler(event: HookEvent) -> None:
        conn.execute("INSERT INTO deliveries VALUES (?, ?)", (event.notification_id, os.getpid()))
        conn.execute(
            "INSERT OR IGNORE INTO outbox VALUES (?, ?)", (event.notification_id, event.trigger)
        )
        if crash.exists():
            os.kill(os.getpid(), signal.SIGKILL)  # after commit, before the handler returns

    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        engine.subscribe(handler, name="outbox", start="beginning")
        if mode == "fire":
            iid = submit(engine)
            engine.fire(iid, "note", {"text": "approved"}, actor=REQUESTER)
        engine.drain_hooks(timeout=30)


if __name__ == "__main__":
    main(*sys.argv[1:4])
