"""Testing helpers for host apps' own tests.

In ``conftest.py``::

    pytest_plugins = ["engine.testing.fixtures"]

and the fixtures are there::

    def test_approval_sends_mail(socieux_engine):
        view = walk_to(socieux_engine, "fine_tuned")                 # right roles, valid data
        socieux_engine.fire(view.id, "approve", payload("approve"), actor=actor("commission"))

* :func:`memory_engine` (fixture ``socieux_engine``): an in-memory engine with every
  installed workflow and projection (pass ``clock=StepClock()`` for deterministic times).
* ``socieux_sqlite_engine``: the same on a SQLite file in ``tmp_path``.
* :func:`walk_to`, :func:`payload`, :func:`actor`: valid payloads and the path to any
  state, from the workflow's testing kit (the ``socieux.testing`` entry points; each
  workflow package ships its own).
* :func:`raises_engine_error`: assert a typed refusal by its stable code.

The builders need no pytest; :mod:`engine.testing.fixtures` is the pytest plugin.
This package imports only the façade and the builders.
"""

from engine.testing.builders import (
    KIT_GROUP,
    StepClock,
    WorkflowKit,
    actor,
    kit,
    memory_engine,
    payload,
    raises_engine_error,
    walk_to,
)

__all__ = [
    "KIT_GROUP",
    "StepClock",
    "WorkflowKit",
    "actor",
    "kit",
    "memory_engine",
    "payload",
    "raises_engine_error",
    "walk_to",
]
