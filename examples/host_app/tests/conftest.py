"""Fixtures: the engine's own (``engine.testing``) and a client of the app on that engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from engine import Engine
from engine.testing.fixtures import socieux_engine  # noqa: F401 - the in-memory engine fixture
from examples.host_app.app import create_app


@pytest.fixture
def client(socieux_engine: Engine) -> Iterator[TestClient]:  # noqa: F811
    """A client of the app embedding ``socieux_engine`` (the ``with`` runs the lifespan)."""
    with TestClient(create_app(socieux_engine)) as test_client:
        yield test_client
