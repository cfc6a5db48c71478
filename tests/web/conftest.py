"""Fixtures of the console's route tests: the demo store, an engine on it, a client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import Engine
from tests.web.store import DemoStore, build_demo_store

pytest.importorskip("starlette", reason="the console needs the web extra")
pytest.importorskip("jinja2", reason="the console needs the web extra")

from starlette.testclient import TestClient

from engine.web import create_app


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    return build_demo_store(tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="session")
def console_engine(demo_store: DemoStore) -> Iterator[Engine]:
    with Engine.open(demo_store.url) as engine:
        yield engine


@pytest.fixture
def client(console_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(console_engine), raise_server_exceptions=True) as c:
        yield c
