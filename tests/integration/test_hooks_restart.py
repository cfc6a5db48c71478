"""At least once across a host restart: SIGKILL after commit, before the handler returns."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Engine
from tests.helpers import event_count
from tests.toy import toy_definition

ROOT = Path(__file__).resolve().parents[2]


def _host(mode: str, url: str, outbox: Path) -> int:
    cmd = [sys.executable, "-m", "tests.integration.hook_host", mode, url, str(outbox)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120, check=False).returncode


def _rows(outbox: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(outbox) as conn:
        return list(conn.execute(sql))


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_host_killed_inside_a_handler_sees_the_event_again_and_applies_it_once(
    store_url: str,
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "host.db"
    Path(f"{outbox}.crash").touch()
    assert _host("fire", store_url, outbox) == -signal.SIGKILL
    with Engine.open(store_url, workflows=[toy_definition()], projections=[]) as engine:
        assert event_count(engine) == 2  # both commands committed before the kill
        [status] = engine.subscriptions()
        assert status.position == 0  # the handler never returned
    assert _rows(outbox, "SELECT key FROM deliveries") == [(1,)]

    # Restarted while the first event's handler still crashes: it is delivered again.
    assert _host("drain", store_url, outbox) == -signal.SIGKILL
    Path(f"{outbox}.crash").unlink()
    assert _host("drain", store_url, outbox) == 0

    deliveries = _rows(outbox, "SELECT key FROM deliveries ORDER BY rowid")
    assert deliveries == [(1,), (1,), (1,), (2,)]  # at least once: event 1 three times
    assert _rows(outbox, "SELECT key, trigger FROM outbox ORDER BY key") == [
        (1, "submit"),
        (2, "note"),
    ]  # the effect, keyed by notification id, applied once each
    with Engine.open(store_url, workflows=[toy_definition()], projections=[]) as engine:
        [status] = engine.subscriptions()
        assert (status.position, status.parked, status.behind) == (2, 0, False)
        assert status.owner is None  # the clean exit released the lease
