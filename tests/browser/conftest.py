"""A real browser (Debian's Chromium, driven by Playwright) on a console served by uvicorn.

The tests run whenever ``/usr/bin/chromium`` exists; without it they skip, except under
``CI=true``, where a missing browser fails the run (``.ci/run`` installs it first).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine import Engine
from tests.web.store import DemoStore, build_demo_store

CHROMIUM = Path(os.environ.get("SOCIEUX_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing(what: str, *, module: bool = False) -> None:
    """Fail under ``CI=true`` (the browser tests must run there); skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {what}: the browser tests must run in CI", pytrace=False)
    pytest.skip(f"{what} (the browser tests need it)", allow_module_level=module)


@dataclass(frozen=True)
class Console:
    """A served console: its URL, the engine behind it, and the store it reads."""

    url: str
    engine: Engine
    store: DemoStore


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    uvicorn = pytest.importorskip("uvicorn")
    from engine.web import create_app

    store = build_demo_store(tmp_path_factory.mktemp("browser"))
    with Engine.open(store.url) as engine:
        config = uvicorn.Config(
            create_app(engine), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            time.sleep(0.02)  # waiting for the socket, not timing anything
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield Console(f"http://127.0.0.1:{port}", engine, store)
        finally:
            server.should_exit = True
            thread.join()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$SOCIEUX_SCREENSHOTS`` (docs/img refreshes), else a tmp dir."""
    chosen = os.environ.get("SOCIEUX_SCREENSHOTS")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def errors() -> list[str]:
    """Console errors and page errors seen by the page (a CSP violation is one)."""
    return []


@pytest.fixture
def page(browser, errors: list[str]) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
