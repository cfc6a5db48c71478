"""A handler's error text is stored whatever it holds: NUL, lone surrogates, megabytes.

Before, an exception message with NUL (or a lone surrogate) could not be written to the
parked events on PostgreSQL, so the page's position was never written and the subscriber
redelivered the same events forever.
"""

from __future__ import annotations

import pytest

from engine import Engine
from engine.hooks.store import ERROR_CHARS, storable_error
from engine.hooks.types import HookEvent
from engine.instance.hashing import storable_text
from tests.conftest import BACKENDS
from tests.helpers import submit
from tests.toy import toy_definition

POISON = "smtp said \x00 then \udcff and \ud800"
READABLE = "ValueError: smtp said \\x00 then \\udcff and \\ud800"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def _open(url: str) -> Engine:
    return Engine.open(url, workflows=[toy_definition()], projections=[])


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_poisoned_error_message_is_parked_readably_and_the_subscriber_moves_on(
    store_url: str,
) -> None:
    seen: list[int] = []

    def handler(event: HookEvent) -> None:
        seen.append(event.notification_id)
        if event.notification_id == 1:
            password = "hunter2"  # a local: never part of the recorded error
            raise ValueError(POISON) from KeyError(password)

    with _open(store_url) as engine:
        # Delivered by drain_hooks, both events in one page: with a background thread, a
        # slower second submit lets the thread commit event 1's page alone, and the clean
        # page of event 2 then clears last_error (what the test below reads).
        engine.subscribe(handler, name="mailer", max_attempts=2, backoff=0, background=False)
        submit(engine)
        submit(engine)
        engine.drain_hooks(timeout=30)
        [parked] = engine.parked("mailer")
        [status] = engine.subscriptions()
        assert engine.retry_parked("mailer") == (0, 1)  # fails again: stored again
        [again] = engine.parked("mailer")
    assert seen == [1, 1, 2, 1]  # two attempts, then the next event, then the retry
    assert (parked.notification_id, parked.attempts) == (1, 2)
    assert parked.error == READABLE
    assert status.last_error == READABLE
    assert (status.position, status.behind) == (2, False)
    assert (again.attempts, again.error) == (3, READABLE)
    assert "hunter2" not in parked.error


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_huge_and_unprintable_errors_are_capped_and_named(store_url: str) -> None:
    def handler(event: HookEvent) -> None:
        if event.notification_id == 1:
            raise ConnectionError("\x00" * 100_000)
        raise Unprintable

    with _open(store_url) as engine:
        engine.subscribe(handler, name="mailer", max_attempts=1)
        submit(engine)
        submit(engine)
        engine.drain_hooks(timeout=30)
        huge, unprintable = engine.parked("mailer")
    assert len(huge.error) == ERROR_CHARS
    assert huge.error.startswith("ConnectionError: \\x00\\x00")
    assert unprintable.error == "Unprintable: <unprintable message>"


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("plain", "plain"),
        ("a\x00b", "a\\x00b"),
        ("lone \udc80", "lone \\udc80"),
        ("é ✓ 🙂", "é ✓ 🙂"),
        ("x" * 5000, "x" * ERROR_CHARS),
    ],
)
def test_storable_error_escapes_what_a_backend_cannot_hold(text: str, stored: str) -> None:
    assert storable_error(text) == stored
    assert storable_text(storable_error(text))
